/**
 * @module test/query
 * `tanium-ecs query` as a user runs it (the built CLI): on a data folder when no server runs, or
 * through a real server's `POST /api/query`; the shortcuts, the output forms, the refusals.
 */
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { buildQuery, formatTable, quoteColumns, sinceInstant } from "../src/cli/query-command.ts";
import { stores, storedDoc } from "../src/store/index.ts";
import { deadServerUrl, runCli, sampleDoc, startApi, serverUrl } from "./store-helpers.ts";

const root = mkdtempSync(join(tmpdir(), "tanium-ecs-query-"));
const data = join(root, "data");
const now = Date.now();
const ago = (minutes: number): string => new Date(now - minutes * 60_000).toISOString();
let dead = "";

before(async () => {
  dead = await deadServerUrl();
  const store = await stores.duckdb({ dataDir: data });
  await store.write({
    docs: [
      sampleDoc("1", "web-01", "powershell.exe", ago(5)),
      sampleDoc("2", "web-01", "powershell.exe", ago(10)),
      sampleDoc("3", "db-01", "powershell.exe", ago(20)),
      sampleDoc("4", "db-01", "cmd.exe", ago(30)),
      sampleDoc("5", "db-01", "cmd.exe", ago(180)),
    ].map(storedDoc),
    deadLetters: [],
  });
  await store.close();
});
after(() => rmSync(root, { recursive: true, force: true }));

const lines = (text: string): unknown[] =>
  text
    .split("\n")
    .filter((l) => l !== "")
    .map((l) => JSON.parse(l) as unknown);

describe("query shortcuts", () => {
  it("quotes bare ECS column names, not strings, quoted names or unknown words", () => {
    assert.equal(
      quoteColumns(
        `process.name = 'process.name' AND "host.name" <> host.name OR lower(user.name) LIKE 'a%'`,
      ),
      `"process.name" = 'process.name' AND "host.name" <> "host.name" OR lower("user.name") LIKE 'a%'`,
    );
    assert.equal(quoteColumns(`t.x = 1 AND event.risk_score > 50`), `t.x = 1 AND "event.risk_score" > 50`);
  });

  it("reads --since as an age or an instant, and refuses anything else", () => {
    const at = new Date("2026-03-01T12:00:00.000Z");
    assert.equal(sinceInstant("1h", at), "2026-03-01T11:00:00.000Z");
    assert.equal(sinceInstant("30m", at), "2026-03-01T11:30:00.000Z");
    assert.equal(sinceInstant("2d", at), "2026-02-27T12:00:00.000Z");
    assert.equal(sinceInstant("2026-02-01T00:00:00+01:00", at), "2026-01-31T23:00:00.000Z");
    assert.throws(() => sinceInstant("yesterday", at), /--since/);
  });

  it("builds a SELECT from the shortcuts, and refuses mixing them with SQL", () => {
    const at = new Date("2026-03-01T12:00:00.000Z");
    assert.equal(
      buildQuery(undefined, { data: "", server: "", countBy: "host.name", since: "1h", limit: 5 }, at),
      `SELECT "host.name", count(*) AS count FROM events WHERE "@timestamp" >= TIMESTAMPTZ ` +
        `'2026-03-01T11:00:00.000Z' GROUP BY ALL ORDER BY count DESC, 1 LIMIT 5`,
    );
    assert.throws(() => buildQuery("SELECT 1", { data: "", server: "", where: "x" }, at), /not both/);
  });

  it("aligns a table, numbers to the right, control characters shown", () => {
    const text = formatTable({
      columns: ["host", "n"],
      rows: [
        ["a\nb", 5],
        ["long-host", 12],
      ],
    });
    assert.equal(text, "host        n\n---------  --\na\\nb        5\nlong-host  12\n(2 rows)\n");
  });
});

describe("tanium-ecs query on a data folder (no server)", () => {
  it("answers SQL as NDJSON when stdout is not a terminal", async () => {
    const r = await runCli(["query", "--data", data, "--server", dead, `SELECT count(*) AS n FROM events`]);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(lines(r.stdout), [{ n: 5 }]);
  });

  it("--where with bare ECS names, newest first, with the default columns", async () => {
    const r = await runCli([
      "query",
      "--data",
      data,
      "--server",
      dead,
      "--where",
      "process.name = 'powershell.exe'",
      "--json",
    ]);
    assert.equal(r.code, 0, r.stderr);
    const rows = lines(r.stdout) as Record<string, unknown>[];
    assert.deepEqual(
      rows.map((row) => row["host.name"]),
      ["web-01", "web-01", "db-01"],
    );
    assert.deepEqual(Object.keys(rows[0] ?? {}), [
      "@timestamp",
      "host.name",
      "event.action",
      "user.name",
      "process.name",
      "message",
    ]);
    assert.equal(rows[0]?.["@timestamp"], ago(5));
  });

  it("--since and --count-by count per host, largest first; --table aligns", async () => {
    const r = await runCli([
      "query",
      "--data",
      data,
      "--server",
      dead,
      "--since",
      "1h",
      "--count-by",
      "host.name",
      "--table",
    ]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(
      r.stdout,
      "host.name  count\n---------  -----\ndb-01          2\nweb-01         2\n(2 rows)\n",
    );
  });

  it("caps the rows with --limit and says so on stderr", async () => {
    const r = await runCli([
      "query",
      "--data",
      data,
      "--server",
      dead,
      "--limit",
      "2",
      `SELECT "event.id" FROM events`,
    ]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(lines(r.stdout).length, 2);
    assert.match(r.stderr, /only the first 2 rows/);
  });

  it("refuses SQL that writes, exit status 1, and the data is untouched", async () => {
    const r = await runCli(["query", "--data", data, "--server", dead, "DELETE FROM events"]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /^tanium-ecs: Read-only: only SELECT-style statements/);
    const count = await runCli([
      "query",
      "--data",
      data,
      "--server",
      dead,
      "SELECT count(*) AS n FROM events",
    ]);
    assert.deepEqual(lines(count.stdout), [{ n: 5 }]);
  });

  it("says the database is in use when another process holds it", async () => {
    const holder = await stores.duckdb({ dataDir: data });
    try {
      const r = await runCli(["query", "--data", data, "--server", dead, "SELECT 1"]);
      assert.equal(r.code, 1);
      assert.match(
        r.stderr,
        /events\.duckdb is in use by another process \(PID \d+\).*Nothing answered at http/,
      );
    } finally {
      await holder.close();
    }
  });

  it("says so when there is no database at --data", async () => {
    const r = await runCli(["query", "--data", join(root, "nowhere"), "--server", dead, "SELECT 1"]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /No database at .*events\.duckdb/);
  });
});

describe("tanium-ecs query through the server (POST /api/query)", () => {
  it("asks the running server, with the token, and reports its refusals", async () => {
    const dir = join(root, "served");
    const store = await stores.duckdb({ dataDir: dir });
    await store.write({ docs: [sampleDoc("s1", "srv-01", "bash", ago(1))].map(storedDoc), deadLetters: [] });
    const app = await startApi(store);
    try {
      const url = serverUrl(app);
      // --data points nowhere: the answer can only come from the server.
      const args = ["query", "--server", url, "--data", join(root, "nowhere")];
      const ok = await runCli([
        ...args,
        "--token",
        "s3cret",
        `SELECT "host.name", "process.pid" FROM events`,
      ]);
      assert.equal(ok.code, 0, ok.stderr);
      assert.deepEqual(lines(ok.stdout), [{ "host.name": "srv-01", "process.pid": 100 }]);
      const viaEnv = await runCli([...args, "SELECT 1 AS one"], { TANIUM_ECS_TOKEN: "s3cret" });
      assert.deepEqual(lines(viaEnv.stdout), [{ one: 1 }]);
      const noToken = await runCli([...args, "SELECT 1"]);
      assert.equal(noToken.code, 1);
      assert.match(noToken.stderr, /refused the request \(401\).*--token/);
      const refused = await runCli([...args, "--token", "s3cret", "DROP TABLE events"]);
      assert.equal(refused.code, 1);
      assert.match(refused.stderr, /Read-only/);

      const post = (body: unknown): Promise<Response> =>
        fetch(`${url}/api/query`, {
          method: "POST",
          headers: { "content-type": "application/json", authorization: "Bearer s3cret" },
          body: JSON.stringify(body),
        });
      const answer = await post({ sql: `SELECT "event.id", "@timestamp", "event.category" FROM events` });
      assert.equal(answer.status, 200);
      assert.deepEqual(await answer.json(), {
        columns: ["event.id", "@timestamp", "event.category"],
        types: ["VARCHAR", "TIMESTAMP WITH TIME ZONE", "VARCHAR[]"],
        rows: [["s1", ago(1), ["process"]]],
        truncated: false,
      });
      const bad = await post({ sql: "SELECT 1; DROP TABLE events" });
      assert.equal(bad.status, 400);
      assert.deepEqual(await bad.json(), {
        error: { code: "ERR_SQL_REFUSED", message: "Only one statement at a time (found 2)." },
      });
      const notSql = await post({ query: "SELECT 1" });
      assert.equal(notSql.status, 400);
    } finally {
      await app.close();
      await store.close();
    }
  });
});

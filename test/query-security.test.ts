/**
 * @module test/query-security
 * A user statement can read and never write: a table of hostile statements (each also wrapped in
 * EXPLAIN ANALYZE and EXPLAIN) sent to a real server on 127.0.0.1 and through
 * `tanium-ecs query --data DIR`; every one is a 400 (exit 1) with a stable code, and afterwards the
 * database opens again with exactly what was ingested, and no other file of the data folder
 * changed. Long statements stop at the time limit, or when their client hangs up. The ingest
 * token cannot read, the query token cannot send.
 */
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { readdirSync, readFileSync, statSync } from "node:fs";
import { request } from "node:http";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { resolveConfig } from "../src/server/config.ts";
import { stores, type EventStore } from "../src/store/index.ts";
import { eventLines, startTestServer, type TestServer } from "./server-helpers.ts";
import { deadServerUrl, runCli } from "./store-helpers.ts";

type Row = readonly [sql: string, code: "ERR_SQL_REFUSED" | "ERR_SQL"];

/** The hostile statements over data folder `dir`. */
function hostile(dir: string): Row[] {
  const at = (name: string): string => `'${join(dir, name).replaceAll("'", "''")}'`;
  const base: Row[] = [
    [`COPY (SELECT 'gone' AS x) TO ${at("events.duckdb")} (FORMAT csv)`, "ERR_SQL_REFUSED"],
    [`COPY events TO ${at("exports/x.csv")}`, "ERR_SQL_REFUSED"],
    [`COPY events FROM ${at("exports/x.csv")}`, "ERR_SQL_REFUSED"],
    [`SET GLOBAL threads = 1`, "ERR_SQL_REFUSED"],
    [`SET checkpoint_threshold = '1KB'`, "ERR_SQL_REFUSED"],
    [`SET enable_external_access = true`, "ERR_SQL_REFUSED"],
    [`SET VARIABLE x = 1`, "ERR_SQL_REFUSED"],
    [`RESET threads`, "ERR_SQL_REFUSED"],
    [`CHECKPOINT`, "ERR_SQL_REFUSED"],
    [`FORCE CHECKPOINT`, "ERR_SQL_REFUSED"],
    [`CALL checkpoint()`, "ERR_SQL_REFUSED"],
    [`SELECT * FROM checkpoint()`, "ERR_SQL_REFUSED"],
    [`SELECT (SELECT count(*) FROM force_checkpoint())`, "ERR_SQL_REFUSED"],
    [`SELECT * FROM query('SELECT * FROM checkpoint()')`, "ERR_SQL_REFUSED"],
    [`SELECT * FROM read_blob(${at("events.duckdb")})`, "ERR_SQL_REFUSED"],
    [`SELECT * FROM read_text(${at("events.duckdb.wal")})`, "ERR_SQL_REFUSED"],
    [`SELECT * FROM glob(${at("*")})`, "ERR_SQL_REFUSED"],
    [`SELECT * FROM glob(${at("exports/*")})`, "ERR_SQL_REFUSED"],
    [`SELECT * FROM read_csv('/etc/passwd')`, "ERR_SQL_REFUSED"],
    [`FROM ${at("exports/x.csv")}`, "ERR_SQL_REFUSED"],
    // Without external access DuckDB has no getenv at all: it fails to bind.
    [`SELECT getenv('HOME')`, "ERR_SQL"],
    [`ATTACH ${at("other.duckdb")} AS other`, "ERR_SQL_REFUSED"],
    [`ATTACH ':memory:' AS m`, "ERR_SQL_REFUSED"],
    [`INSTALL httpfs`, "ERR_SQL_REFUSED"],
    [`LOAD parquet`, "ERR_SQL_REFUSED"],
    [`PRAGMA threads = 1`, "ERR_SQL_REFUSED"],
    [`PRAGMA enable_profiling`, "ERR_SQL_REFUSED"],
    [`PRAGMA table_info('events')`, "ERR_SQL_REFUSED"],
    [`EXPORT DATABASE ${at("dump")}`, "ERR_SQL_REFUSED"],
    [`IMPORT DATABASE ${at("dump")}`, "ERR_SQL_REFUSED"],
    [`SELECT 1; DROP TABLE events`, "ERR_SQL_REFUSED"],
    [`SELECT 1; SELECT 2`, "ERR_SQL_REFUSED"],
    // DuckDB's parser itself takes no DML in a CTE.
    [`WITH gone AS (DELETE FROM events RETURNING *) SELECT * FROM gone`, "ERR_SQL"],
    [`INSERT INTO events ("event.id", doc) VALUES ('x', '{}')`, "ERR_SQL_REFUSED"],
    [`DELETE FROM events`, "ERR_SQL_REFUSED"],
    [`UPDATE events SET message = 'x'`, "ERR_SQL_REFUSED"],
    [`DROP TABLE dead_letters`, "ERR_SQL_REFUSED"],
    [`CREATE TABLE t AS SELECT 1`, "ERR_SQL_REFUSED"],
    [`VACUUM`, "ERR_SQL_REFUSED"],
    [`ANALYZE`, "ERR_SQL_REFUSED"],
  ];
  return base.flatMap(([sql, code]): Row[] => [
    [sql, code],
    [`EXPLAIN ANALYZE ${sql}`, code],
    [`EXPLAIN ${sql}`, code],
  ]);
}

/** Every file of the folder but the database and its WAL, with its size and SHA-256. */
function listing(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (sub: string): void => {
    for (const entry of readdirSync(join(dir, sub), { withFileTypes: true })) {
      const rel = join(sub, entry.name);
      if (entry.isDirectory()) {
        out[`${rel}/`] = "dir";
        walk(rel);
      } else if (rel !== "events.duckdb" && rel !== "events.duckdb.wal") {
        const bytes = readFileSync(join(dir, rel));
        out[rel] = `${statSync(join(dir, rel)).size} ${createHash("sha256").update(bytes).digest("hex")}`;
      }
    }
  };
  walk("");
  return out;
}

const INGEST = "ingest-secret";
const QUERY = "query-secret";
const EVENTS = 25;

function post(url: string, path: string, token: string, body: string, type = "application/json") {
  return fetch(`${url}${path}`, {
    method: "POST",
    headers: { "content-type": type, authorization: `Bearer ${token}` },
    body,
  });
}

describe("POST /api/query reads and never writes", () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer({ token: INGEST, "query-token": QUERY });
    const sent = await post(server.url, "/ingest", INGEST, eventLines(EVENTS).join("\n"), "text/plain");
    assert.equal(sent.status, 200);
  });
  after(() => server.stop());

  it("refuses every hostile statement with a 400 and a stable code; the data folder is untouched", async () => {
    const { dir } = server;
    const before = listing(dir);
    for (const [sql, code] of hostile(dir)) {
      const answer = await post(server.url, "/api/query", QUERY, JSON.stringify({ sql }));
      const body = (await answer.json()) as { error?: { code: string; message: string } };
      assert.equal(answer.status, 400, `${sql}: ${JSON.stringify(body)}`);
      assert.equal(body.error?.code, code, `${sql}: ${body.error?.message}`);
      assert.ok((body.error?.message ?? "").length > 10, sql);
    }
    // The server still takes events and answers queries.
    const more = await post(server.url, "/ingest", INGEST, eventLines(5, "after").join("\n"), "text/plain");
    assert.equal(more.status, 200);
    const count = await post(
      server.url,
      "/api/query",
      QUERY,
      JSON.stringify({ sql: "SELECT count(*) FROM events" }),
    );
    assert.deepEqual(((await count.json()) as { rows: unknown[][] }).rows, [[EVENTS + 5]]);

    await server.handle.close();
    assert.deepEqual(listing(dir), before);
    const reopened = await stores.duckdb({ dataDir: dir, readOnly: true });
    try {
      const rows = await reopened.query(`SELECT count(*), count(DISTINCT "event.id") FROM events`);
      assert.deepEqual(rows.rows, [[EVENTS + 5, EVENTS + 5]]);
    } finally {
      await reopened.close();
    }
  });
});

describe("tanium-ecs query --data refuses the same statements", () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer({ token: INGEST });
    const sent = await post(server.url, "/ingest", INGEST, eventLines(EVENTS).join("\n"), "text/plain");
    assert.equal(sent.status, 200);
    await server.handle.close();
  });
  after(() => server.stop());

  it("exits 1 with the refusal, and the data folder is untouched", async () => {
    const { dir } = server;
    const before = listing(dir);
    const dead = await deadServerUrl();
    // The plain statements and their EXPLAIN ANALYZE form (each is a process: bounded in count).
    const rows = hostile(dir).filter(([sql]) => !/^EXPLAIN (?!ANALYZE )/.test(sql));
    const queue = [...rows];
    const worker = async (): Promise<void> => {
      for (let row = queue.shift(); row !== undefined; row = queue.shift()) {
        const [sql] = row;
        const r = await runCli(["query", "--data", dir, "--server", dead, sql]);
        assert.equal(r.code, 1, `${sql}: ${r.stdout}`);
        assert.match(r.stderr, /^tanium-ecs: \S/, sql);
        assert.equal(r.stdout, "", sql);
      }
    };
    await Promise.all([worker(), worker(), worker()]);
    assert.deepEqual(listing(dir), before);
    const count = await runCli([
      "query",
      "--data",
      dir,
      "--server",
      dead,
      "SELECT count(*) AS n FROM events",
    ]);
    assert.equal(count.code, 0, count.stderr);
    assert.deepEqual(JSON.parse(count.stdout), { n: EVENTS });
  });
});

/** A statement that runs for minutes unless stopped. */
const LONG = "SELECT count(*) FROM range(1000000000) a, range(1000000) b WHERE a.range + b.range = 7";

/** The real store, with how each of its queries ended (a code, or "ok") recorded. */
function observed(store: EventStore, outcomes: Promise<string>[]): EventStore {
  return {
    name: store.name,
    write: (batch) => store.write(batch),
    query(sql, options) {
      const running = store.query(sql, options);
      outcomes.push(
        running.then(
          () => "ok",
          (err: unknown) => String((err as { code?: string }).code),
        ),
      );
      return running;
    },
    close: () => store.close(),
  };
}

describe("a statement's time limit and its client", () => {
  let limited: TestServer;
  let patient: TestServer;
  const outcomes: Promise<string>[] = [];
  before(async () => {
    limited = await startTestServer({ "query-timeout": "2" });
    patient = await startTestServer({ "query-timeout": "600" }, (store) => observed(store, outcomes));
  });
  after(async () => {
    await limited.stop();
    await patient.stop();
  });

  const ask = (server: TestServer, sql: string): Promise<Response> =>
    fetch(`${server.url}/api/query`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ sql }),
    });

  it("cancels a statement at the query timeout with a 400 ERR_QUERY_TIMEOUT; the server stays responsive", async () => {
    const started = Date.now();
    const slow = ask(limited, LONG);
    // Meanwhile other requests are answered.
    const quick = await ask(limited, "SELECT 1 AS one");
    assert.equal(quick.status, 200);
    const answer = await slow;
    const elapsed = Date.now() - started;
    assert.equal(answer.status, 400);
    assert.equal(((await answer.json()) as { error: { code: string } }).error.code, "ERR_QUERY_TIMEOUT");
    assert.ok(elapsed >= 1900, `answered after ${elapsed} ms`);
    assert.ok(elapsed < 30_000, `answered after ${elapsed} ms`);
    assert.equal((await ask(limited, "SELECT 2 AS two")).status, 200);
  });

  it("cancels the statement when its client hangs up", async () => {
    const started = Date.now();
    const req = request(`${patient.url}/api/query`, {
      method: "POST",
      headers: { "content-type": "application/json" },
    });
    req.on("error", () => {});
    req.end(JSON.stringify({ sql: LONG }));
    while (outcomes.length === 0) await new Promise((resolve) => setTimeout(resolve, 50));
    req.destroy();
    // The limit is 600 s: only the hang-up can have stopped it.
    assert.equal(await outcomes[0], "ERR_QUERY_CANCELLED");
    assert.ok(Date.now() - started < 60_000);
    const next = await ask(patient, "SELECT 2 AS two");
    assert.equal(next.status, 200);
  });

  it("keeps intake answering while four long statements run (reads take at most two DuckDB threads)", async () => {
    const before = outcomes.length;
    const clients = Array.from({ length: 4 }, () => new AbortController());
    const slow = clients.map((client) =>
      fetch(`${patient.url}/api/query`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ sql: LONG }),
        signal: client.signal,
      }).catch(() => undefined),
    );
    while (outcomes.length < before + 4) await new Promise((resolve) => setTimeout(resolve, 50));
    const started = Date.now();
    const sent = await fetch(`${patient.url}/ingest`, {
      method: "POST",
      headers: { "content-type": "text/plain" },
      body: eventLines(10, "busy").join("\n"),
      signal: AbortSignal.timeout(15_000),
    });
    const elapsed = Date.now() - started;
    assert.equal(sent.status, 200);
    // Before the fix it waited for the statements themselves (here: 600 s).
    assert.ok(elapsed < 15_000, `ingest answered after ${elapsed} ms`);
    for (const client of clients) client.abort();
    await Promise.all(slow);
    const ended = await Promise.all(outcomes.slice(before));
    assert.deepEqual(ended, [
      "ERR_QUERY_CANCELLED",
      "ERR_QUERY_CANCELLED",
      "ERR_QUERY_CANCELLED",
      "ERR_QUERY_CANCELLED",
    ]);
  });
});

describe("ingest and query tokens", () => {
  let split: TestServer;
  let single: TestServer;
  before(async () => {
    split = await startTestServer({ token: INGEST, "query-token": QUERY });
    single = await startTestServer({ "query-token": QUERY });
  });
  after(async () => {
    await split.stop();
    await single.stop();
  });

  it("the ingest token cannot read /api/*, the query token cannot /ingest", async () => {
    const line = eventLines(1).join("\n");
    const sql = JSON.stringify({ sql: "SELECT count(*) FROM events" });
    assert.equal((await post(split.url, "/api/query", INGEST, sql)).status, 401);
    assert.equal((await post(split.url, "/api/export", INGEST, "{}")).status, 401);
    assert.equal((await post(split.url, "/api/replay", INGEST, "{}")).status, 401);
    assert.equal((await post(split.url, "/ingest", QUERY, line, "text/plain")).status, 401);
    assert.equal((await post(split.url, "/ingest", INGEST, line, "text/plain")).status, 200);
    const read = await post(split.url, "/api/query", QUERY, sql);
    assert.equal(read.status, 200);
    assert.deepEqual(((await read.json()) as { rows: unknown[][] }).rows, [[1]]);
  });

  it("one token given serves both", async () => {
    const line = eventLines(1).join("\n");
    assert.equal((await post(single.url, "/ingest", QUERY, line, "text/plain")).status, 200);
    const read = await post(
      single.url,
      "/api/query",
      QUERY,
      JSON.stringify({ sql: "SELECT count(*) FROM events" }),
    );
    assert.equal(read.status, 200);
    assert.equal((await post(single.url, "/ingest", "wrong", line, "text/plain")).status, 401);
  });

  it("the CLI sends the query token: --token, else TANIUM_ECS_QUERY_TOKEN, else TANIUM_ECS_TOKEN", async () => {
    const args = ["query", "--server", split.url, "--data", join(split.dir, "nowhere"), "SELECT 1 AS one"];
    const withEnv = await runCli(args, { TANIUM_ECS_QUERY_TOKEN: QUERY, TANIUM_ECS_TOKEN: INGEST });
    assert.equal(withEnv.code, 0, withEnv.stderr);
    assert.deepEqual(JSON.parse(withEnv.stdout), { one: 1 });
    const ingestOnly = await runCli(args, { TANIUM_ECS_TOKEN: INGEST });
    assert.equal(ingestOnly.code, 1);
    assert.match(ingestOnly.stderr, /refused the request \(401\).*query token/);
    const flag = await runCli([...args, "--token", QUERY], { TANIUM_ECS_TOKEN: INGEST });
    assert.equal(flag.code, 0, flag.stderr);
  });
});

describe("query-token, query-timeout, max-exports settings", () => {
  it("reads them from flags and the environment, and validates them", () => {
    const config = resolveConfig({
      env: { TANIUM_ECS_QUERY_TOKEN: "q" },
      flags: { "query-timeout": "5", "max-exports": "3" },
    });
    assert.equal(config.queryToken, "q");
    assert.equal(config.token, undefined);
    assert.equal(config.queryTimeout, 5);
    assert.equal(config.maxExports, 3);
    const defaults = resolveConfig({});
    assert.equal(defaults.queryTimeout, 30);
    assert.equal(defaults.maxExports, 2);
    assert.throws(() => resolveConfig({ flags: { "query-timeout": "0" } }), /--query-timeout must be/);
    assert.throws(() => resolveConfig({ flags: { "max-exports": "many" } }), /--max-exports must be/);
  });

  it("binds beyond loopback with either token, and refuses to without any", () => {
    const wide = { http: "0.0.0.0:0", tcp: "off", udp: "off" };
    assert.equal(resolveConfig({ flags: { ...wide, "query-token": "q" } }).queryToken, "q");
    assert.equal(resolveConfig({ flags: { ...wide, token: "t" } }).token, "t");
    assert.throws(() => resolveConfig({ flags: wide }), /not loopback: without a token/);
  });
});

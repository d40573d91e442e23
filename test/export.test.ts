/**
 * @module test/export
 * `tanium-ecs export`: NDJSON lines are the stored documents; Parquet reads back in DuckDB with
 * the typed columns and the right row count; `--since` filters; on a data folder and through a
 * real server's `POST /api/export`, which streams (no file for NDJSON), sends at most
 * `maxExports` at once (503 + Retry-After past it), and cuts off a client that stops reading.
 */
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { randomBytes } from "node:crypto";
import { connect } from "node:net";
import { after, before, describe, it } from "node:test";
import { DuckDBInstance } from "@duckdb/node-api";
import Fastify from "fastify";
import { apiRoutes } from "../src/server/api.ts";
import type { EcsDocument } from "../src/ecs/document.ts";
import { stores, storedDoc } from "../src/store/index.ts";
import { deadServerUrl, runCli, sampleDoc, serverUrl, startApi } from "./store-helpers.ts";

const root = mkdtempSync(join(tmpdir(), "tanium-ecs-export-"));
after(() => rmSync(root, { recursive: true, force: true }));
const data = join(root, "data");
const now = Date.now();
const ago = (minutes: number): string => new Date(now - minutes * 60_000).toISOString();
const DOCS: EcsDocument[] = [
  sampleDoc("old", "db-01", "cmd.exe", ago(600)),
  sampleDoc("mid", "web-01", "bash", ago(30)),
  { ...sampleDoc("new", "web-02", "ünïcode 🦆", ago(5)), tags: ["a"] },
];
let dead = "";

before(async () => {
  dead = await deadServerUrl();
  const store = await stores.duckdb({ dataDir: data });
  await store.write({ docs: DOCS.map(storedDoc), deadLetters: [] });
  await store.close();
});

async function readParquet(path: string): Promise<unknown[][]> {
  const db = await DuckDBInstance.create(":memory:");
  try {
    const connection = await db.connect();
    const reader = await connection.runAndReadAll(
      `SELECT "event.id", "host.name", "process.pid", "event.category", doc FROM read_parquet('${path.replaceAll("'", "''")}') ORDER BY "@timestamp"`,
    );
    return reader.getRowsJS();
  } finally {
    db.closeSync();
  }
}

const ndjson = (path: string): unknown[] =>
  readFileSync(path, "utf8")
    .split("\n")
    .filter((l) => l !== "")
    .map((l) => JSON.parse(l) as unknown);

describe("tanium-ecs export", () => {
  it("writes every stored document as NDJSON, oldest first", async () => {
    const out = join(root, "all.ndjson");
    const r = await runCli(["export", "--format", "ndjson", "--out", out, "--data", data, "--server", dead]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /exported 3 events/);
    assert.deepEqual(ndjson(out), DOCS);
    // The temporary file in the data folder is gone.
    assert.deepEqual(readdirSync(join(data, "exports")), []);
  });

  it("writes Parquet with the typed columns and doc; --since filters", async () => {
    const out = join(root, "recent it's.parquet");
    const r = await runCli([
      "export",
      "--format",
      "parquet",
      "--since",
      "1h",
      "--out",
      out,
      "--data",
      data,
      "--server",
      dead,
    ]);
    assert.equal(r.code, 0, r.stderr);
    const rows = await readParquet(out);
    assert.deepEqual(
      rows.map((row) => row.slice(0, 4)),
      [
        ["mid", "web-01", 100n, ["process"]],
        ["new", "web-02", 100n, ["process"]],
      ],
    );
    assert.deepEqual(JSON.parse(String(rows[1]?.[4])), DOCS[2]);
  });

  it("refuses an unknown format (exit 1) and leaves no file", async () => {
    const out = join(root, "x.csv");
    const r = await runCli(["export", "--format", "csv", "--out", out, "--data", data, "--server", dead]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /Allowed choices are ndjson, parquet/);
    assert.equal(existsSync(out), false);
  });

  it("streams the export from the running server", async () => {
    const served = join(root, "served");
    const store = await stores.duckdb({ dataDir: served });
    await store.write({ docs: DOCS.map(storedDoc), deadLetters: [] });
    const app = await startApi(store);
    try {
      const url = serverUrl(app);
      const args = ["--server", url, "--token", "s3cret", "--data", join(root, "nowhere")];
      const nd = join(root, "served.ndjson");
      const r1 = await runCli(["export", "--format", "ndjson", "--since", "2h", "--out", nd, ...args]);
      assert.equal(r1.code, 0, r1.stderr);
      assert.deepEqual(ndjson(nd), DOCS.slice(1));
      const pq = join(root, "served.parquet");
      const r2 = await runCli(["export", "--format", "parquet", "--out", pq, ...args]);
      assert.equal(r2.code, 0, r2.stderr);
      assert.equal((await readParquet(pq)).length, 3);

      const bad = await fetch(`${url}/api/export`, {
        method: "POST",
        headers: { "content-type": "application/json", authorization: "Bearer s3cret" },
        body: JSON.stringify({ format: "ndjson", since: "last week" }),
      });
      assert.equal(bad.status, 400);
      assert.deepEqual(readdirSync(join(served, "exports")), []);
    } finally {
      await app.close();
      await store.close();
    }
  });
});

describe("POST /api/export streams, and holds back clients that do not read", () => {
  const big = join(root, "big");
  const COUNT = 10_000;
  let url = "";
  let close = async (): Promise<void> => {};
  before(async () => {
    const store = await stores.duckdb({ dataDir: big });
    // About 8 KiB of incompressible text each: 80 MB in all, far more than socket buffers hold.
    for (let from = 0; from < COUNT; from += 1000) {
      const docs = Array.from({ length: 1000 }, (_, i) => {
        const n = from + i;
        const d = sampleDoc(`big-${String(n).padStart(6, "0")}`, "db-01", "cmd.exe", ago(COUNT - n));
        return { ...d, message: randomBytes(4096).toString("hex") };
      });
      await store.write({ docs: docs.map(storedDoc), deadLetters: [] });
    }
    // The connections fetch keeps open (its keep-alive pool, the answers the tests cancel) must
    // not hold close(): without this the file took 70 s more, waiting for them.
    const app = Fastify({ forceCloseConnections: true });
    await app.register(apiRoutes(store, { maxExports: 1, exportIdleMs: 1000 }));
    await app.listen({ host: "127.0.0.1", port: 0 });
    url = serverUrl(app);
    close = async () => {
      await app.close();
      await store.close();
    };
  });
  after(() => close());

  const exportRequest = (format: string): Promise<Response> =>
    fetch(`${url}/api/export`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ format }),
    });

  /** A client that sends an export request, reads the first bytes, then never reads again. */
  function stalledClient(format: string): Promise<{ destroy(): void }> {
    const port = Number(new URL(url).port);
    const body = JSON.stringify({ format });
    const socket = connect({ host: "127.0.0.1", port });
    socket.on("error", () => {});
    socket.write(
      `POST /api/export HTTP/1.1\r\nhost: 127.0.0.1\r\ncontent-type: application/json\r\n` +
        `content-length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
    );
    return new Promise((resolve) => {
      socket.once("data", (first: Buffer) => {
        socket.pause();
        assert.match(first.toString("latin1"), /^HTTP\/1\.1 200/);
        resolve({ destroy: () => socket.destroy() });
      });
    });
  }

  async function untilAccepted(format: string): Promise<Response> {
    const until = Date.now() + 30_000;
    for (;;) {
      const answer = await exportRequest(format);
      if (answer.status !== 503 || Date.now() > until) return answer;
      await answer.body?.cancel();
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  }

  it("streams every document as NDJSON, oldest first, without writing a file", async () => {
    const answer = await untilAccepted("ndjson");
    assert.equal(answer.status, 200);
    assert.equal(answer.headers.get("x-export-rows"), String(COUNT));
    assert.ok(answer.body !== null);
    let text = "";
    let checked = false;
    const decoder = new TextDecoder();
    for await (const chunk of answer.body as AsyncIterable<Uint8Array>) {
      text += decoder.decode(chunk, { stream: true });
      if (!checked && text.length > 1_000_000) {
        // Mid-stream: nothing was written to disk for it.
        assert.deepEqual(readdirSync(join(big, "exports")), []);
        checked = true;
      }
    }
    assert.ok(checked);
    const lines = text.split("\n").filter((l) => l !== "");
    assert.equal(lines.length, COUNT);
    const ids = lines.map((l) => (JSON.parse(l) as { event: { id: string } }).event.id);
    assert.deepEqual(ids, [...ids].sort());
  });

  for (const format of ["ndjson", "parquet"]) {
    it(`${format}: past max-exports a 503 with Retry-After; a client that stops reading is cut off and frees its slot`, async () => {
      const stalled = await stalledClient(format);
      try {
        const busy = await exportRequest(format);
        assert.equal(busy.status, 503);
        assert.ok(Number(busy.headers.get("retry-after")) > 0);
        assert.equal(((await busy.json()) as { error: { code: string } }).error.code, "ERR_EXPORT_BUSY");
        if (format === "parquet") assert.equal(readdirSync(join(big, "exports")).length, 1);
        // Idle for 1 s: the server closes it, though this client never hangs up.
        const next = await untilAccepted(format);
        assert.equal(next.status, 200);
        await next.body?.cancel();
      } finally {
        stalled.destroy();
      }
      const until = Date.now() + 10_000;
      while (readdirSync(join(big, "exports")).length > 0 && Date.now() < until) {
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      assert.deepEqual(readdirSync(join(big, "exports")), []);
    });
  }
});

describe("the store's NDJSON export pages", () => {
  it("gives every event once, oldest first, ties by event.id across pages, those without @timestamp last", async () => {
    const dir = join(root, "pages");
    const store = await stores.duckdb({ dataDir: dir });
    try {
      const at = ago(10);
      // 5,000 events at the very same instant: pages of 2,048 must split them by event.id.
      const tied = Array.from({ length: 5000 }, (_, i) =>
        sampleDoc(`t-${String(i).padStart(5, "0")}`, "h", "p", at),
      );
      const untimed = ["u-2", "u-1", "u-3"].map((id) => {
        // Stored as text: an EcsDocument always has one.
        const d: Record<string, unknown> = { ...sampleDoc(id, "h", "p", at) };
        delete d["@timestamp"];
        return { id, json: JSON.stringify(d) };
      });
      const older = sampleDoc("z-older", "h", "p", ago(20));
      await store.write({
        docs: [...tied.map(storedDoc), ...untimed, storedDoc(older)],
        deadLetters: [],
      });
      const exported = await store.exportEvents({ format: "ndjson" });
      assert.equal(exported.rows, 5004);
      let text = "";
      for await (const chunk of exported.body) text += String(chunk);
      const ids = text
        .split("\n")
        .filter((l) => l !== "")
        .map((l) => (JSON.parse(l) as { event: { id: string } }).event.id);
      assert.deepEqual(ids, ["z-older", ...tied.map((d) => d.event?.id), "u-1", "u-2", "u-3"]);
      const recent = await store.exportEvents({ format: "ndjson", since: ago(15) });
      assert.equal(recent.rows, 5000);
      let count = 0;
      for await (const chunk of recent.body) count += String(chunk).split("\n").length - 1;
      assert.equal(count, 5000);
    } finally {
      await store.close();
    }
  });
});

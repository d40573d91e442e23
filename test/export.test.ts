/**
 * @module test/export
 * `tanium-ecs export`: NDJSON lines are the stored documents; Parquet reads back in DuckDB with
 * the typed columns and the right row count; `--since` filters; on a data folder and through a
 * real server's `POST /api/export`.
 */
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { DuckDBInstance } from "@duckdb/node-api";
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

/**
 * @module test/store-retention
 * The DuckDB store's retention and its schema 3 (event keys in their own table), for real in a
 * temp folder: expired events and dead letters go, recent ones and their SQL stay; a schema 2
 * file (the key on `events` itself) is migrated at open, keeps its events and still stores a
 * redelivered one once.
 */
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { text } from "node:stream/consumers";
import { after, describe, it } from "node:test";
import { DuckDBInstance } from "@duckdb/node-api";
import { generateLines } from "../bench/generate.ts";
import { normalize } from "../src/normalize.ts";
import { EVENT_COLUMNS, quoteIdent } from "../src/store/columns.ts";
import { DATABASE_FILE, duckdbStore, SCHEMA_VERSION } from "../src/store/duckdb.ts";
import { storedDoc, type DeadLetterRow, type StoredDoc } from "../src/store/store.ts";

const root = mkdtempSync(join(tmpdir(), "tanium-ecs-store-retention-"));
after(() => rmSync(root, { recursive: true, force: true }));
let dirs = 0;
const freshDir = (): string => join(root, `data-${++dirs}`);

const DAY = 86_400_000;
const NOW = Date.parse("2026-03-31T00:00:00.000Z");
const daysAgo = (days: number): string => new Date(NOW - days * DAY).toISOString();

/**
 * A stored document as the server hands it over (its key and JSON text); `@timestamp` may be
 * missing, as in a document a user's enrichment or an older release left without one.
 */
function doc(id: string, timestamp: string | undefined, ingested?: string): StoredDoc {
  const event: Record<string, unknown> = { kind: "event", id, category: ["process"], type: ["start"] };
  if (ingested !== undefined) event.ingested = ingested;
  const d: Record<string, unknown> = {};
  if (timestamp !== undefined) d["@timestamp"] = timestamp;
  Object.assign(d, { ecs: { version: "9.4.0" }, event, process: { name: `p-${id}` } });
  return { id, json: JSON.stringify(d) };
}

function letter(original: string, receivedAt: string): DeadLetterRow {
  return { code: "ERR_JSON_SYNTAX", message: "bad", original, input: "http", receivedAt };
}

async function ids(store: { query(sql: string): Promise<{ rows: readonly (readonly unknown[])[] }> }) {
  const result = await store.query(`SELECT "event.id" FROM events ORDER BY 1`);
  return result.rows.map((r) => r[0]);
}

describe("DuckDB store retention", () => {
  it("deletes events older than the retention by @timestamp, else event.ingested, and old dead letters", async () => {
    const store = await duckdbStore({
      dataDir: freshDir(),
      retainMs: 30 * DAY,
      retentionIntervalMs: 3_600_000,
    });
    try {
      await store.write({
        docs: [
          doc("old", daysAgo(40)),
          doc("recent", daysAgo(2)),
          // No @timestamp: judged by event.ingested.
          doc("old-ingested", undefined, daysAgo(31)),
          doc("recent-ingested", undefined, daysAgo(1)),
          // Neither: nothing to judge it by, kept.
          doc("undated", undefined),
          // An old ingest does not expire an event whose own time is recent.
          doc("recent-late", daysAgo(3), daysAgo(60)),
        ],
        deadLetters: [letter("old junk", daysAgo(45)), letter("new junk", daysAgo(5))],
      });
      const result = await store.retain(NOW);
      assert.deepEqual(result, { events: 2, deadLetters: 1 });
      assert.deepEqual(await ids(store), ["recent", "recent-ingested", "recent-late", "undated"]);
      const letters = await store.query(`SELECT original FROM dead_letters`);
      assert.deepEqual(letters.rows, [["new junk"]]);
      // SQL on the document still works on what is kept.
      const names = await store.query(
        `SELECT doc->>'$.process.name' FROM events WHERE "event.id" = 'recent'`,
      );
      assert.deepEqual(names.rows, [["p-recent"]]);
      // Its key went with it: the expired event sent again is stored again (and the next pass
      // deletes it again), a kept one is still a duplicate.
      const again = await store.write({
        docs: [doc("old", daysAgo(40)), doc("recent", daysAgo(2))],
        deadLetters: [],
      });
      assert.deepEqual(again, { inserted: 1, duplicates: 1, deadLetters: 0, duplicateIds: ["recent"] });
      assert.deepEqual(await store.retain(NOW), { events: 1, deadLetters: 0 });
    } finally {
      await store.close();
    }
  });

  it("deletes more than one chunk (10,000 rows) of expired events, while writes go on", async () => {
    const store = await duckdbStore({ dataDir: freshDir(), retainMs: DAY, retentionIntervalMs: 3_600_000 });
    try {
      for (let b = 0; b < 12; b++) {
        const docs = Array.from({ length: 1000 }, (_, i) => doc(`e-${b}-${i}`, daysAgo(2)));
        await store.write({ docs, deadLetters: [] });
      }
      const pass = store.retain(NOW);
      // A batch committed during the pass is not held up by it and is kept.
      const during = await store.write({ docs: [doc("fresh", daysAgo(0))], deadLetters: [] });
      assert.equal(during.inserted, 1);
      assert.deepEqual(await pass, { events: 12_000, deadLetters: 0 });
      assert.deepEqual(await ids(store), ["fresh"]);
    } finally {
      await store.close();
    }
  });

  it("runs by itself in the background every interval", async () => {
    const store = await duckdbStore({ dataDir: freshDir(), retainMs: DAY, retentionIntervalMs: 50 });
    try {
      await store.write({
        docs: [
          doc("expired", new Date(Date.now() - 2 * DAY).toISOString()),
          doc("today", new Date().toISOString()),
        ],
        deadLetters: [],
      });
      const deadline = Date.now() + 10_000;
      while ((await ids(store)).length > 1 && Date.now() < deadline) {
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      assert.deepEqual(await ids(store), ["today"]);
    } finally {
      await store.close();
    }
  });

  it("keeps everything without retainMs", async () => {
    const store = await duckdbStore({ dataDir: freshDir() });
    try {
      await store.write({ docs: [doc("ancient", "2001-01-01T00:00:00.000Z")], deadLetters: [] });
      assert.deepEqual(await store.retain(NOW), { events: 0, deadLetters: 0 });
      assert.deepEqual(await ids(store), ["ancient"]);
    } finally {
      await store.close();
    }
  });
});

describe("DuckDB store schema 3", () => {
  it("migrates a schema 2 file (primary key on events) at open: same events, redelivery still stored once", async () => {
    const dir = freshDir();
    mkdirSync(dir, { recursive: true });
    const stored = doc("kept", "2026-03-01T10:00:00.000Z");
    // The layout of schema 2, as the release before wrote it.
    const instance = await DuckDBInstance.create(join(dir, DATABASE_FILE));
    const connection = await instance.connect();
    const columns = EVENT_COLUMNS.map((c) =>
      c.name === "event.id" ? `${quoteIdent(c.name)} VARCHAR PRIMARY KEY` : `${quoteIdent(c.name)} ${c.type}`,
    );
    await connection.run(
      `CREATE TABLE schema_info (version INTEGER NOT NULL); INSERT INTO schema_info VALUES (2)`,
    );
    await connection.run(`CREATE TABLE events (${columns.join(", ")}, doc JSON NOT NULL)`);
    await connection.run(
      `CREATE TABLE dead_letters (id VARCHAR PRIMARY KEY, code VARCHAR NOT NULL, message VARCHAR,
         original VARCHAR NOT NULL, input VARCHAR, received_at TIMESTAMPTZ, count BIGINT NOT NULL DEFAULT 1)`,
    );
    const insert = await connection.prepare(
      `INSERT INTO events ("event.id", "@timestamp", "process.name", doc) VALUES ($1, $2::TIMESTAMPTZ, $3, $4::JSON)`,
    );
    insert.bind(["kept", "2026-03-01T10:00:00.000Z", "p-kept", stored.json]);
    await insert.run();
    connection.closeSync();
    instance.closeSync();

    const store = await duckdbStore({ dataDir: dir });
    try {
      const version = await store.query(`SELECT max(version) FROM schema_info`);
      assert.deepEqual(version.rows, [[SCHEMA_VERSION]]);
      const keys = await store.query(
        `SELECT count(*) FROM duckdb_constraints() WHERE table_name = 'events' AND constraint_type = 'PRIMARY KEY'`,
      );
      assert.deepEqual(keys.rows, [[0]]);
      const again = await store.write({
        docs: [stored, doc("new", "2026-03-02T10:00:00.000Z")],
        deadLetters: [],
      });
      assert.deepEqual(again, { inserted: 1, duplicates: 1, deadLetters: 0, duplicateIds: ["kept"] });
      const exported = await store.exportEvents({ format: "ndjson" });
      const body = await text(exported.body);
      assert.equal(body.split("\n")[0], stored.json);
      assert.equal(exported.rows, 2);
      const names = await store.query(`SELECT "process.name" FROM events ORDER BY "@timestamp"`);
      assert.deepEqual(names.rows, [["p-kept"], ["p-new"]]);
    } finally {
      await store.close();
    }
    // Opened again: nothing left to migrate.
    const reopened = await duckdbStore({ dataDir: dir });
    try {
      assert.deepEqual(await ids(reopened), ["kept", "new"]);
    } finally {
      await reopened.close();
    }
  });

  it("compresses the documents of a new file with ZSTD", async () => {
    const store = await duckdbStore({ dataDir: freshDir() });
    try {
      // Recorder events as the generator makes them, normalized: the documents a user stores.
      const docs = generateLines(3000).flatMap((line) => {
        const r = normalize(line, { receivedAt: "2026-01-01T00:00:00.000Z" });
        return r.ok ? [storedDoc(r.doc)] : [];
      });
      assert.equal(docs.length, 3000);
      await store.write({ docs, deadLetters: [] });
      await store.close();
      const walLeft = existsSync(join(store.dataDir, DATABASE_FILE) + ".wal");
      // Opened as the store opens it: a WAL left behind would be checkpointed with the same rule.
      const instance = await DuckDBInstance.create(join(store.dataDir, DATABASE_FILE), {
        zstd_min_string_length: "512",
      });
      const connection = await instance.connect();
      const found = await connection.runAndReadAll(
        `SELECT DISTINCT compression FROM pragma_storage_info('events') WHERE column_name = 'doc' AND segment_type <> 'VALIDITY'`,
      );
      connection.closeSync();
      instance.closeSync();
      assert.deepEqual(found.getRows(), [["ZSTD"]], `WAL left after close: ${walLeft}`);
    } finally {
      await store.close();
    }
  });
});

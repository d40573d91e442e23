/**
 * @module test/store
 * The DuckDB store for real, in a temp folder: what is written comes back (typed columns and the
 * whole document), an event delivered twice is stored once, a bad line is kept once, SQL that
 * writes is refused, and the data outlives a close.
 */
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import type { EcsDocument } from "../src/ecs/document.ts";
import {
  DATABASE_FILE,
  StoreError,
  stores,
  type DeadLetterRow,
  type EventStore,
  storedDoc,
} from "../src/store/index.ts";

const root = mkdtempSync(join(tmpdir(), "tanium-ecs-store-"));
after(() => rmSync(root, { recursive: true, force: true }));
let dirs = 0;
const freshDir = (): string => join(root, `data-${++dirs}`);

function doc(id: string, overrides: Partial<EcsDocument> = {}): EcsDocument {
  return {
    "@timestamp": "2026-03-01T10:00:00.123Z",
    ecs: { version: "9.4.0" },
    event: {
      kind: "event",
      id,
      category: ["process"],
      type: ["start"],
      action: "process_start",
      dataset: "tanium.recorder",
      ingested: "2026-03-01T10:00:01.000Z",
    },
    host: { name: "web-07", hostname: "web-07.prod.example.net", ip: ["10.20.4.17"] },
    process: { pid: 48213, name: "curl", executable: "/usr/bin/curl", parent: { pid: 1, name: "cron" } },
    message: `event ${id}`,
    ...overrides,
  };
}

function letter(original: string, code = "ERR_JSON_SYNTAX"): DeadLetterRow {
  return { code, message: "bad", original, input: "http", receivedAt: "2026-03-01T10:00:02.000Z" };
}

async function rows(store: EventStore, sql: string): Promise<unknown[][]> {
  return (await store.query(sql)).rows.map((r) => [...r]);
}

async function withStore<T>(task: (store: EventStore, dir: string) => Promise<T>): Promise<T> {
  const dir = freshDir();
  const store = await stores.duckdb({ dataDir: dir });
  try {
    return await task(store, dir);
  } finally {
    await store.close();
  }
}

describe("DuckDB store", () => {
  it("creates the data folder and events.duckdb, and reads back typed columns and the whole document", () =>
    withStore(async (store, dir) => {
      assert.ok(existsSync(join(dir, DATABASE_FILE)));
      const a = doc("a");
      const result = await store.write({ docs: [a, doc("b")].map(storedDoc), deadLetters: [] });
      assert.deepEqual(result, { inserted: 2, duplicates: 0, deadLetters: 0 });
      const answer = await store.query(
        `SELECT "event.id", "@timestamp", "event.category", "host.ip", "process.pid", "process.parent.name",
           "event.ingested", "user.name", doc FROM events ORDER BY "event.id"`,
      );
      assert.deepEqual(answer.columns, [
        "event.id",
        "@timestamp",
        "event.category",
        "host.ip",
        "process.pid",
        "process.parent.name",
        "event.ingested",
        "user.name",
        "doc",
      ]);
      assert.equal(answer.truncated, false);
      assert.deepEqual(answer.rows[0], [
        "a",
        "2026-03-01T10:00:00.123Z",
        ["process"],
        ["10.20.4.17"],
        48213,
        "cron",
        "2026-03-01T10:00:01.000Z",
        null,
        a,
      ]);
      assert.equal(answer.rows.length, 2);
    }));

  it("stores an event delivered twice once, within a batch and across batches", () =>
    withStore(async (store) => {
      const first = await store.write({
        docs: [doc("a"), doc("a", { message: "second copy" }), doc("b")].map(storedDoc),
        deadLetters: [],
      });
      assert.deepEqual(first, { inserted: 2, duplicates: 1, deadLetters: 0 });
      const second = await store.write({ docs: [doc("b"), doc("c")].map(storedDoc), deadLetters: [] });
      // The id found stored before is named: a sink settles that event as already there.
      assert.deepEqual(second, { inserted: 1, duplicates: 1, deadLetters: 0, duplicateIds: ["b"] });
      assert.deepEqual(await rows(store, `SELECT "event.id", message FROM events ORDER BY 1`), [
        ["a", "event a"],
        ["b", "event b"],
        ["c", "event c"],
      ]);
    }));

  it("keeps dead letters, the same original text once however often it is resent", () =>
    withStore(async (store) => {
      const result = await store.write({
        docs: [doc("a")].map(storedDoc),
        deadLetters: [letter("{not json"), letter('{"no":"shape"}', "ERR_NO_EVENT"), letter("{not json")],
      });
      assert.deepEqual(result, { inserted: 1, duplicates: 0, deadLetters: 3 });
      await store.write({ docs: [], deadLetters: [{ ...letter("{not json"), input: "tcp:127.0.0.1:5000" }] });
      assert.deepEqual(
        await rows(
          store,
          `SELECT code, message, original, input, received_at FROM dead_letters ORDER BY code`,
        ),
        [
          ["ERR_JSON_SYNTAX", "bad", "{not json", "http", "2026-03-01T10:00:02.000Z"],
          ["ERR_NO_EVENT", "bad", '{"no":"shape"}', "http", "2026-03-01T10:00:02.000Z"],
        ],
      );
    }));

  it("rolls the whole batch back and rejects when part of it cannot be stored", () =>
    withStore(async (store) => {
      const broken = { ...letter("x"), original: null } as unknown as DeadLetterRow;
      await assert.rejects(store.write({ docs: [doc("a")].map(storedDoc), deadLetters: [broken] }));
      assert.deepEqual(await rows(store, `SELECT count(*) FROM events`), [[0]]);
      // The store is still usable after the failure.
      assert.equal((await store.write({ docs: [doc("a")].map(storedDoc), deadLetters: [] })).inserted, 1);
    }));

  it("takes concurrent writes: each resolves with its own counts", () =>
    withStore(async (store) => {
      const batches = Array.from({ length: 8 }, (_, b) =>
        Array.from({ length: 250 }, (_, i) => doc(`b${b}-${i % 200}`)),
      );
      const results = await Promise.all(
        batches.map((docs) => store.write({ docs: docs.map(storedDoc), deadLetters: [] })),
      );
      for (const r of results) assert.deepEqual(r, { inserted: 200, duplicates: 50, deadLetters: 0 });
      assert.deepEqual(await rows(store, `SELECT count(*) FROM events`), [[1600]]);
    }));

  it("stores each event once when concurrent batches carry the same new ids (the writers race)", () =>
    withStore(async (store) => {
      // Batches written at once go to different writer connections: the same new event.id in two
      // of them is a conflict at the second commit, which must still store it exactly once.
      const shared = Array.from({ length: 300 }, (_, i) => doc(`shared-${i}`));
      const batches = Array.from({ length: 6 }, (_, b) => [
        ...shared,
        ...Array.from({ length: 100 }, (_, i) => doc(`own-${b}-${i}`)),
      ]);
      const results = await Promise.all(
        batches.map((docs) => store.write({ docs: docs.map(storedDoc), deadLetters: [] })),
      );
      const inserted = results.reduce((sum, r) => sum + r.inserted, 0);
      assert.equal(inserted, 300 + 6 * 100);
      for (const r of results) assert.equal(r.inserted + r.duplicates, 400);
      assert.deepEqual(await rows(store, `SELECT count(*), count(DISTINCT "event.id") FROM events`), [
        [900, 900],
      ]);
    }));

  it("refuses every statement that is not a single read-only one, with a clear error", () =>
    withStore(async (store, dir) => {
      await store.write({ docs: [doc("a")].map(storedDoc), deadLetters: [] });
      const notReadOnly = /Read-only: only SELECT-style statements/;
      const refused: [string, RegExp][] = [
        [`INSERT INTO events ("event.id", doc) VALUES ('x', '{}')`, notReadOnly],
        [`UPDATE events SET message = 'x'`, notReadOnly],
        [`DELETE FROM events`, notReadOnly],
        [`DROP TABLE events`, notReadOnly],
        [`CREATE TABLE t AS SELECT 1`, notReadOnly],
        [`SET enable_external_access = true`, notReadOnly],
        [`CHECKPOINT`, notReadOnly],
        [`SELECT 1; DROP TABLE events`, /Only one statement at a time \(found 2\)/],
        // Statements naming a file outside the data folder fail earlier, while DuckDB binds them.
        [`ATTACH 'other.duckdb' AS other`, /Read-only|disabled by configuration/],
        [`COPY events TO 'out.csv'`, /Read-only|disabled by configuration/],
        [`INSTALL httpfs`, /Read-only|disabled|not allowed/i],
      ];
      for (const [sql, message] of refused) {
        await assert.rejects(store.query(sql), (err: unknown) => {
          assert.ok(err instanceof StoreError, sql);
          assert.match(err.message, message, sql);
          assert.ok(err.code === "ERR_SQL_REFUSED" || err.code === "ERR_SQL", sql);
          return true;
        });
      }
      const dataCopy = `COPY events TO '${join(dir, "exports", "x.csv").replaceAll("'", "''")}'`;
      await assert.rejects(
        store.query(dataCopy),
        (err: unknown) => err instanceof StoreError && err.code === "ERR_SQL_REFUSED",
      );
      // EXPLAIN ANALYZE runs its statement: what it wraps is checked too.
      await assert.rejects(store.query(`EXPLAIN ANALYZE DELETE FROM events`), StoreError);
      // A SELECT cannot call a table function that reads files either.
      await assert.rejects(
        store.query(`SELECT * FROM read_text('/etc/hostname')`),
        /read_text\(\) is not allowed/,
      );
      await assert.rejects(
        store.query(`SELEC 1`),
        (err: unknown) => err instanceof StoreError && err.code === "ERR_SQL",
      );
      assert.deepEqual(await rows(store, `SELECT count(*) FROM events`), [[1]]);
    }));

  it("answers SELECT-style statements: WITH, DESCRIBE, SHOW, SUMMARIZE, EXPLAIN", () =>
    withStore(async (store) => {
      await store.write({ docs: [doc("a")].map(storedDoc), deadLetters: [] });
      for (const sql of [
        `WITH x AS (SELECT "host.name" AS h FROM events) SELECT h FROM x`,
        `DESCRIBE events`,
        `SHOW TABLES`,
        `SUMMARIZE events`,
        `EXPLAIN SELECT * FROM events`,
        `FROM events SELECT "event.id"`,
      ]) {
        const answer = await store.query(sql);
        assert.ok(answer.rows.length > 0, sql);
      }
      const described = await rows(store, `SELECT column_name, column_type FROM (DESCRIBE events)`);
      assert.deepEqual(
        described.find((r) => r[0] === "doc"),
        ["doc", "JSON"],
      );
      assert.deepEqual(
        described.find((r) => r[0] === "event.category"),
        ["event.category", "VARCHAR[]"],
      );
    }));

  it("caps the rows of an answer and says it was truncated", () =>
    withStore(async (store) => {
      await store.write({
        docs: Array.from({ length: 30 }, (_, i) => doc(`e${i}`)).map(storedDoc),
        deadLetters: [],
      });
      const capped = await store.query(`SELECT "event.id" FROM events`, { maxRows: 10 });
      assert.equal(capped.rows.length, 10);
      assert.equal(capped.truncated, true);
      const whole = await store.query(`SELECT "event.id" FROM events`, { maxRows: 30 });
      assert.equal(whole.rows.length, 30);
      assert.equal(whole.truncated, false);
    }));

  it("gives JSON-safe values: big integers as strings, NaN as a string, nested lists and structs", () =>
    withStore(async (store) => {
      const answer = await store.query(
        `SELECT 9007199254740993::BIGINT AS big, 42::BIGINT AS small, 'NaN'::DOUBLE AS nan,
           [[1, 2]] AS nested, {'a': 1::HUGEINT, 'b': TIMESTAMPTZ '2026-01-01 00:00:00.000001+00'} AS s,
           DATE '2026-01-02' AS d, '{"k":[1]}'::JSON AS j`,
      );
      assert.deepEqual(answer.rows[0], [
        "9007199254740993",
        42,
        "NaN",
        [[1, 2]],
        { a: 1, b: "2026-01-01T00:00:00.000001Z" },
        "2026-01-02",
        { k: [1] },
      ]);
    }));

  it("stores an odd document (missing fields, huge strings, unicode, __proto__ keys) and returns it intact", () =>
    withStore(async (store) => {
      const fields = JSON.parse(
        '{"__proto__": {"polluted": true}, "constructor": "x", "ключ": "значение"}',
      ) as Record<string, unknown>;
      const huge = "A".repeat(2 * 1024 * 1024);
      const odd = {
        "@timestamp": "2026-03-01T10:00:00.000Z",
        ecs: { version: "9.4.0" },
        event: { kind: "event", id: "odd-1" },
        message: `${huge} 🦆 עברית \u0000 end`,
        process: { pid: "not a number", parent: { pid: 2 ** 60 } },
        host: { ip: "10.0.0.1" },
        source: { port: "http" },
        tanium: { fields },
      } as unknown as EcsDocument;
      const bare = {
        "@timestamp": "2026-03-01T10:00:00.000Z",
        ecs: { version: "9.4.0" },
        event: { kind: "event" },
      };
      const result = await store.write({ docs: [odd, bare as EcsDocument].map(storedDoc), deadLetters: [] });
      assert.equal(result.inserted, 2);
      const [row] = await rows(
        store,
        `SELECT doc, "process.pid", "process.parent.pid", "host.ip", "source.port", length(message)
         FROM events WHERE "event.id" = 'odd-1'`,
      );
      assert.ok(row);
      assert.deepEqual(row[0], JSON.parse(JSON.stringify(odd)));
      // Past 2^53 a BIGINT comes back as a string; length() counts code points (the duck is one).
      assert.deepEqual(row.slice(1), [null, "1152921504606847000", ["10.0.0.1"], null, huge.length + 14]);
      assert.equal(({} as Record<string, unknown>).polluted, undefined);
      // A document without event.id gets a stable key from its content: resent, it is still once.
      await store.write({ docs: [bare as EcsDocument].map(storedDoc), deadLetters: [] });
      assert.deepEqual(
        await rows(store, `SELECT count(*) FROM events WHERE "event.id" NOT IN ('odd-1', 'odd-2')`),
        [[1]],
      );
      // Values of the wrong shape leave their column empty; the document keeps them as sent.
      const shapeless = {
        "@timestamp": "yesterday",
        event: { id: "odd-2", category: { network: true }, type: [1, "x", null], severity: "7" },
        host: "just text",
        user: ["root"],
        process: { pid: 1.5, name: 42, parent: [] },
      } as unknown as EcsDocument;
      assert.equal((await store.write({ docs: [shapeless].map(storedDoc), deadLetters: [] })).inserted, 1);
      assert.deepEqual(
        await rows(
          store,
          `SELECT "@timestamp", "event.category", "event.type", "event.severity", "host.name", "user.name",
             "process.pid", "process.name", "process.parent.pid", doc FROM events WHERE "event.id" = 'odd-2'`,
        ),
        // DuckDB casts 1.5 to BIGINT by rounding, as it casts the text "1.5".
        [[null, null, ["1", "x", null], 7, null, null, 2, "42", null, JSON.parse(JSON.stringify(shapeless))]],
      );
    }));

  it("keeps the data after close and reopen; a read-only open reads it and refuses writes", async () => {
    const dir = freshDir();
    const store = await stores.duckdb({ dataDir: dir });
    await store.write({ docs: [doc("a"), doc("b")].map(storedDoc), deadLetters: [letter("oops")] });
    await store.close();
    await assert.rejects(store.write({ docs: [doc("c")].map(storedDoc), deadLetters: [] }), /closed/);

    const again = await stores.duckdb({ dataDir: dir });
    assert.equal(
      (await again.write({ docs: [doc("b"), doc("c")].map(storedDoc), deadLetters: [] })).inserted,
      1,
    );
    await again.close();

    const reader = await stores.duckdb({ dataDir: dir, readOnly: true });
    try {
      assert.deepEqual(await rows(reader, `SELECT count(*) FROM events`), [[3]]);
      assert.deepEqual(await rows(reader, `SELECT count(*) FROM dead_letters`), [[1]]);
      await assert.rejects(
        reader.write({ docs: [doc("d")].map(storedDoc), deadLetters: [] }),
        (err: unknown) => {
          return err instanceof StoreError && err.code === "ERR_STORE_READ_ONLY";
        },
      );
    } finally {
      await reader.close();
    }
  });

  it("says so when a read-only open finds no database", async () => {
    await assert.rejects(stores.duckdb({ dataDir: freshDir(), readOnly: true }), (err: unknown) => {
      assert.ok(err instanceof StoreError);
      assert.equal(err.code, "ERR_STORE_MISSING");
      assert.match(err.message, /No database at .*events\.duckdb/);
      return true;
    });
  });
});

/**
 * Dead letters through HTTP: a flood of one junk line is one row with a count (every arrival
 * counted, in the answer, the table and the metrics), replay still works over it, a schema 1
 * file is migrated; and two sender mistakes (JSON lines sent as application/json, a BOM) cost
 * no event.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { rmSync } from "node:fs";
import { join } from "node:path";
import { DuckDBInstance } from "@duckdb/node-api";
import { DATABASE_FILE, SCHEMA_VERSION } from "../src/store/duckdb.ts";
import { stores } from "../src/store/index.ts";
import { eventLines, metricValue, startTestServer, tempDir, type TestServer } from "./server-helpers.ts";

async function post(
  server: TestServer,
  body: string | Uint8Array,
  headers: Record<string, string>,
): Promise<{ status: number; body: unknown }> {
  const response = await fetch(`${server.url}/ingest`, { method: "POST", headers, body });
  return { status: response.status, body: (await response.json()) as unknown };
}

const TEXT = { "content-type": "text/plain" };
const JSON_TYPE = { "content-type": "application/json" };

describe("repeated dead letters over HTTP", () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer();
  });
  after(async () => {
    await server.stop();
  });

  it("stores a flood of one junk line once, counted, and answers every arrival", async () => {
    // 40,000 lines: more than one slice, so the count adds up across slices and batches.
    const body = `${"junk flood line\n".repeat(40_000)}other junk\n${eventLines(1, "flood")[0]}\n`;
    const answer = await post(server, body, TEXT);
    assert.deepEqual([answer.status, answer.body], [200, { accepted: 1, dead_letters: 40_001 }]);
    const again = await post(server, "junk flood line\n".repeat(5), TEXT);
    assert.deepEqual([again.status, again.body], [200, { accepted: 0, dead_letters: 5 }]);

    const rows = await server.handle.store.query(
      `SELECT original, count FROM dead_letters WHERE original IN ('junk flood line', 'other junk') ORDER BY original`,
    );
    assert.deepEqual(rows.rows, [
      ["junk flood line", 40_005],
      ["other junk", 1],
    ]);
    const metrics = await (await fetch(`${server.url}/metrics`)).text();
    assert.equal(metricValue(metrics, 'tanium_ecs_dead_letters_total{code="ERR_JSON_SYNTAX"}'), 40_006);
    assert.equal(metricValue(metrics, 'tanium_ecs_received_total{input="http"}'), 40_007);
  });

  it("replays over counted dead letters: still failing ones stay, with their count", async () => {
    const result = await server.handle.store.replay!();
    assert.equal(result.replayed, 0);
    assert.ok(result.stillFailing >= 2);
    const rows = await server.handle.store.query(
      `SELECT count FROM dead_letters WHERE original = 'junk flood line'`,
    );
    assert.deepEqual(rows.rows, [[40_005]]);
  });

  it("takes JSON lines sent as application/json as events, not one dead letter", async () => {
    const answer = await post(server, eventLines(4, "ndjson-as-json").join("\n"), JSON_TYPE);
    assert.deepEqual([answer.status, answer.body], [200, { accepted: 4, dead_letters: 0 }]);
  });

  it("strips a UTF-8 BOM before an application/json or NDJSON body", async () => {
    const bom = Buffer.from([0xef, 0xbb, 0xbf]);
    const array = Buffer.concat([bom, Buffer.from(`[${eventLines(2, "bom-array").join(",")}]`)]);
    const one = Buffer.concat([bom, Buffer.from(eventLines(1, "bom-one")[0]!)]);
    const lines = Buffer.concat([bom, Buffer.from(eventLines(3, "bom-lines").join("\n"))]);
    assert.deepEqual((await post(server, array, JSON_TYPE)).body, { accepted: 2, dead_letters: 0 });
    assert.deepEqual((await post(server, one, JSON_TYPE)).body, { accepted: 1, dead_letters: 0 });
    assert.deepEqual((await post(server, lines, { "content-type": "application/x-ndjson" })).body, {
      accepted: 3,
      dead_letters: 0,
    });
  });
});

describe("dead_letters schema migration", () => {
  it("opens a schema 1 file: its dead letters count 1, and a repeat adds to the count", async () => {
    const dir = tempDir();
    try {
      // The layout of schema 1, written by the release before the count.
      const instance = await DuckDBInstance.create(join(dir, DATABASE_FILE));
      const connection = await instance.connect();
      await connection.run(
        `CREATE TABLE schema_info (version INTEGER NOT NULL); INSERT INTO schema_info VALUES (1)`,
      );
      await connection.run(
        `CREATE TABLE dead_letters (id VARCHAR PRIMARY KEY, code VARCHAR NOT NULL, message VARCHAR,
           original VARCHAR NOT NULL, input VARCHAR, received_at TIMESTAMPTZ)`,
      );
      await connection.run(
        `INSERT INTO dead_letters VALUES ('old', 'ERR_JSON_SYNTAX', 'm', 'old junk', 'http', '2026-01-01T00:00:00Z')`,
      );
      connection.closeSync();
      instance.closeSync();

      const store = await stores.duckdb({ dataDir: dir });
      try {
        assert.deepEqual((await store.query(`SELECT original, count FROM dead_letters`)).rows, [
          ["old junk", 1],
        ]);
        assert.deepEqual((await store.query(`SELECT max(version) FROM schema_info`)).rows, [
          [SCHEMA_VERSION],
        ]);
        const letter = {
          code: "ERR_JSON_SYNTAX",
          message: "m",
          input: "http",
          receivedAt: "2026-01-02T00:00:00Z",
        };
        await store.write({
          docs: [],
          deadLetters: [
            { ...letter, original: "new junk", count: 3 },
            { ...letter, original: "new junk", count: 2 },
          ],
        });
        await store.write({ docs: [], deadLetters: [{ ...letter, original: "new junk" }] });
        assert.deepEqual(
          (await store.query(`SELECT original, count FROM dead_letters ORDER BY original`)).rows,
          [
            ["new junk", 6],
            ["old junk", 1],
          ],
        );
      } finally {
        await store.close();
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

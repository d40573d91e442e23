/**
 * @module test/replay
 * `tanium-ecs replay`: dead letters that the current normalizer now maps move to `events` (with
 * their original receive time); the rest stay, counted by code. On a data folder and through a
 * real server's `POST /api/replay`.
 */
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { normalize } from "../src/normalize.ts";
import { stores, type DeadLetterRow } from "../src/store/index.ts";
import { samplesOf } from "./helpers.ts";
import { deadServerUrl, runCli, serverUrl, startApi } from "./store-helpers.ts";

const GOOD = samplesOf("recorder").slice(0, 3);
const BAD = ["{not json", '{"neither":"shape"}'];
const RECEIVED = "2026-02-01T08:00:00.000Z";

const root = mkdtempSync(join(tmpdir(), "tanium-ecs-replay-"));
after(() => rmSync(root, { recursive: true, force: true }));
let dead = "";
before(async () => {
  dead = await deadServerUrl();
});

/** Lines stored as dead letters, as an older normalizer (that did not know their shape) left them. */
function letters(): DeadLetterRow[] {
  return [...GOOD, ...BAD].map((original) => ({
    code: "ERR_NO_EVENT",
    message: "older normalizer",
    original,
    input: "http",
    receivedAt: RECEIVED,
  }));
}

function failingCodes(): string {
  const codes = BAD.map((line) => {
    const r = normalize(line);
    assert.equal(r.ok, false);
    return r.ok ? "" : r.error.code;
  }).sort();
  const counts = new Map<string, number>();
  for (const c of codes) counts.set(c, (counts.get(c) ?? 0) + 1);
  return [...counts].map(([c, n]) => `${c} ${n}`).join(", ");
}

describe("tanium-ecs replay", () => {
  it("moves the dead letters that now normalize into events, on a data folder", async () => {
    const data = join(root, "direct");
    const store = await stores.duckdb({ dataDir: data });
    await store.write({ docs: [], deadLetters: letters() });
    await store.close();

    const r = await runCli(["replay", "--data", data, "--server", dead]);
    assert.equal(r.code, 3, r.stderr);
    assert.equal(r.stdout, `replayed 3, still failing 2 (${failingCodes()})\n`);

    const check = await stores.duckdb({ dataDir: data, readOnly: true });
    try {
      const events = await check.query(`SELECT doc FROM events ORDER BY "event.id"`);
      const expected = GOOD.map((line) => {
        const n = normalize(line, { receivedAt: RECEIVED });
        assert.ok(n.ok);
        return n.doc;
      }).sort((a, b) => ((a.event.id ?? "") < (b.event.id ?? "") ? -1 : 1));
      assert.deepEqual(
        events.rows.map((row) => row[0]),
        JSON.parse(JSON.stringify(expected)),
      );
      const left = await check.query(`SELECT original, code FROM dead_letters ORDER BY original`);
      // The ones still failing keep their place, with the current normalizer's reason.
      const current = (line: string): string => {
        const n = normalize(line);
        return n.ok ? "" : n.error.code;
      };
      assert.deepEqual(
        left.rows,
        [...BAD].sort().map((line) => [line, current(line)]),
      );
      assert.notDeepEqual(
        left.rows.map((row) => row[1]),
        ["ERR_NO_EVENT", "ERR_NO_EVENT"],
      );
    } finally {
      await check.close();
    }

    const again = await runCli(["replay", "--data", data, "--server", dead]);
    assert.equal(again.stdout, `replayed 0, still failing 2 (${failingCodes()})\n`);
  });

  it("works through the running server, and exits 0 when nothing is left failing", async () => {
    const data = join(root, "served");
    const store = await stores.duckdb({ dataDir: data });
    await store.write({ docs: [], deadLetters: letters().slice(0, 3) });
    const app = await startApi(store);
    try {
      const r = await runCli([
        "replay",
        "--server",
        serverUrl(app),
        "--token",
        "s3cret",
        "--data",
        join(root, "x"),
      ]);
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.stdout, "replayed 3, still failing 0\n");
      const counts = await store.query(
        `SELECT (SELECT count(*) FROM events), (SELECT count(*) FROM dead_letters)`,
      );
      assert.deepEqual(counts.rows, [[3, 0]]);
    } finally {
      await app.close();
      await store.close();
    }
  });
});

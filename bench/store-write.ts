/**
 * @module bench/store-write
 * Write throughput of the DuckDB store alone: generated recorder events, normalized up front (so
 * only the store is timed), written in batches (one transaction each) to a fresh temp database.
 * `node --import tsx bench/store-write.ts [--events N] [--batch N]` (defaults 200000 and 1000).
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { EcsDocument } from "../src/ecs/document.ts";
import { normalize } from "../src/normalize.ts";
import { stores, storedDoc } from "../src/store/index.ts";
import { generateLines } from "./generate.ts";

const args = process.argv.slice(2);
const option = (name: string, fallback: number): number => {
  const at = args.indexOf(name);
  return at >= 0 ? Number(args[at + 1]) : fallback;
};
const EVENTS = option("--events", 200_000);
const BATCH = option("--batch", 1000);

const docs: EcsDocument[] = [];
for (const line of generateLines(EVENTS)) {
  const r = normalize(line, { receivedAt: "2026-01-01T00:00:00.000Z" });
  if (r.ok) docs.push(r.doc);
}
const dir = mkdtempSync(join(tmpdir(), "tanium-ecs-store-bench-"));
try {
  const store = await stores.duckdb({ dataDir: dir });
  let inserted = 0;
  const start = process.hrtime.bigint();
  for (let i = 0; i < docs.length; i += BATCH) {
    inserted += (await store.write({ docs: docs.slice(i, i + BATCH).map(storedDoc), deadLetters: [] }))
      .inserted;
  }
  const ms = Number(process.hrtime.bigint() - start) / 1e6;
  await store.close();
  const rate = Math.round((docs.length / ms) * 1000);
  console.log(
    `store write: ${docs.length.toLocaleString("en-US")} docs in batches of ${BATCH}, ` +
      `${inserted.toLocaleString("en-US")} inserted, ${rate.toLocaleString("en-US")} docs/s`,
  );
} finally {
  rmSync(dir, { recursive: true, force: true });
}

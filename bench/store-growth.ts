/**
 * @module bench/store-growth
 * How the DuckDB store behaves as it grows: 1,000,000 generated recorder events (normalized up
 * front, so only the store is timed) written through `write` in batches of 1,000 to a fresh temp
 * database, two batches in flight (the store has two writer connections, as the server uses them).
 * Reports the rate of each 100,000 (the curve), the last and the sustained rate against the first
 * 100,000, the slowest batch, and the disk the database takes per million events against the raw
 * input's bytes (each line and its newline, as a sender sends them).
 * `node --max-old-space-size=8192 --import tsx bench/store-growth.ts [--events N] [--batch N]`
 * (run it alone: `flock <lock> …`).
 */
import { mkdtempSync, readdirSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { normalize } from "../src/normalize.ts";
import { stores, storedDoc, type StoredDoc } from "../src/store/index.ts";
import { generateLine, prng } from "./generate.ts";

const args = process.argv.slice(2);
const option = (name: string, fallback: number): number => {
  const at = args.indexOf(name);
  return at >= 0 ? Number(args[at + 1]) : fallback;
};
const EVENTS = option("--events", 1_000_000);
const BATCH = option("--batch", 1000);
const SEGMENT = option("--segment", 100_000);
const IN_FLIGHT = 2;
/** Keep the database afterwards (its folder is printed), to look into it. */
const KEEP = args.includes("--keep");
/** The store's `checkpointThreshold` (its default when absent), to compare checkpoint sizes. */
const CHECKPOINT = args.includes("--checkpoint") ? args[args.indexOf("--checkpoint") + 1] : undefined;

const random = prng(42);
const docs: StoredDoc[] = [];
let rawBytes = 0;
for (let i = 0; i < EVENTS; i++) {
  const line = generateLine(random, i);
  rawBytes += Buffer.byteLength(line) + 1;
  const r = normalize(line, { receivedAt: "2026-01-01T00:00:00.000Z" });
  if (r.ok) docs.push(storedDoc(r.doc));
}
let docBytes = 0;
for (const d of docs) docBytes += Buffer.byteLength(d.json);

const dir = mkdtempSync(join(tmpdir(), "tanium-ecs-store-growth-"));
const diskBytes = (): number => {
  let total = 0;
  for (const name of readdirSync(dir)) {
    if (name.startsWith("events.duckdb")) total += statSync(join(dir, name)).size;
  }
  return total;
};
try {
  const store = await stores.duckdb({
    dataDir: dir,
    ...(CHECKPOINT === undefined ? {} : { checkpointThreshold: CHECKPOINT }),
  });
  const segments: number[] = [];
  let inserted = 0;
  let slowest = 0;
  const start = performance.now();
  let segmentStart = start;
  let next = 0;
  let done = 0;
  const writeOne = async (): Promise<void> => {
    while (next < docs.length) {
      const from = next;
      next += BATCH;
      const t = performance.now();
      const result = await store.write({ docs: docs.slice(from, from + BATCH), deadLetters: [] });
      inserted += result.inserted;
      slowest = Math.max(slowest, performance.now() - t);
      done += Math.min(BATCH, docs.length - from);
      while (done >= (segments.length + 1) * SEGMENT) {
        const now = performance.now();
        segments.push(now - segmentStart);
        segmentStart = now;
      }
    }
  };
  await Promise.all(Array.from({ length: IN_FLIGHT }, writeOne));
  const ms = performance.now() - start;
  const openBytes = diskBytes();
  const closeStart = performance.now();
  await store.close();
  const closeMs = performance.now() - closeStart;
  const closedBytes = diskBytes();

  const rates = segments.map((s) => Math.round((SEGMENT / s) * 1000));
  const first = rates[0] ?? 0;
  const last = rates[rates.length - 1] ?? 0;
  const sustained = Math.round((docs.length / ms) * 1000);
  const perMillion = (bytes: number): string => `${(((bytes / docs.length) * 1e6) / 1e6).toFixed(0)} MB`;
  const fmt = (n: number): string => n.toLocaleString("en-US");
  console.log(
    `store growth: ${fmt(docs.length)} docs (${fmt(inserted)} inserted) in batches of ${BATCH}, ${IN_FLIGHT} in flight`,
  );
  console.log(`rate per ${fmt(SEGMENT)}: ${rates.map(fmt).join(", ")} docs/s`);
  console.log(
    `sustained ${fmt(sustained)}/s; last/first ${(last / first).toFixed(2)}, sustained/first ` +
      `${(sustained / first).toFixed(2)}; slowest batch ${fmt(Math.round(slowest))} ms; close ${fmt(Math.round(closeMs))} ms`,
  );
  console.log(
    `disk per million events: ${perMillion(closedBytes)} after close (${perMillion(openBytes)} before, WAL included); ` +
      `raw input ${perMillion(rawBytes)}; documents ${perMillion(docBytes)}; disk/raw ${(closedBytes / rawBytes).toFixed(2)}`,
  );
} finally {
  if (KEEP) console.log(`kept: ${dir}`);
  else rmSync(dir, { recursive: true, force: true });
}

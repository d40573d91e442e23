/**
 * @module bench/against
 * `node --import tsx bench/against.ts OTHER_CHECKOUT`: the library's rate on the recorder mix and
 * the alert-heavy mix, this checkout against another one (an earlier commit, built: its
 * `dist/index.js`), in one process and one run. The two alternate round by round and each keeps its
 * best round, so the machine's drift hits both alike; the ratio is what to read.
 *
 * Make the other checkout with `git worktree add ../base <commit> && (cd ../base && npm ci)`.
 */
import { existsSync } from "node:fs";
import { join, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { normalize as current } from "../src/normalize.ts";
import { generateAlertHeavyLines, generateLines } from "./generate.ts";

type Normalize = typeof current;

const args = process.argv.slice(2);
const other = args.find((a) => !a.startsWith("--"));
if (other === undefined) {
  console.error("usage: node --import tsx bench/against.ts OTHER_CHECKOUT [--events N] [--rounds N]");
  process.exit(2);
}
const option = (name: string, fallback: number): number => {
  const at = args.indexOf(name);
  return at >= 0 ? Number(args[at + 1]) : fallback;
};
const EVENTS = option("--events", 200_000);
const ROUNDS = option("--rounds", 5);
const entry = join(resolve(other), "dist", "index.js");
if (!existsSync(entry)) {
  console.error(`${entry} is missing: run npm ci (which builds dist/) in that checkout first`);
  process.exit(2);
}
const base = ((await import(pathToFileURL(entry).href)) as { normalize: Normalize }).normalize;

function timeRound(normalize: Normalize, lines: readonly string[]): number {
  const receivedAt = "2026-01-01T00:00:00.000Z";
  let sink = 0;
  const start = process.hrtime.bigint();
  for (const line of lines) {
    const r = normalize(line, { receivedAt });
    sink += r.ok ? JSON.stringify(r.doc).length : 0;
  }
  const ms = Number(process.hrtime.bigint() - start) / 1e6;
  if (sink < 0) console.log(sink);
  return ms;
}

function compare(name: string, lines: readonly string[]): void {
  timeRound(base, lines);
  timeRound(current, lines);
  let baseMs = Infinity;
  let currentMs = Infinity;
  for (let round = 0; round < ROUNDS; round++) {
    baseMs = Math.min(baseMs, timeRound(base, lines));
    currentMs = Math.min(currentMs, timeRound(current, lines));
  }
  const rate = (ms: number): number => Math.round((lines.length / ms) * 1000);
  console.log(
    `${name}: this checkout ${rate(currentMs).toLocaleString("en-US")} events/s, ` +
      `the other ${rate(baseMs).toLocaleString("en-US")} events/s = ${(baseMs / currentMs).toFixed(3)} x`,
  );
}

console.log(`node ${process.version}, ${EVENTS} events, best of ${ROUNDS} alternating rounds`);
compare("recorder mix   ", generateLines(EVENTS));
compare("alert-heavy mix", generateAlertHeavyLines(Math.max(1, Math.round(EVENTS / 3))));

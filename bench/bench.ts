/**
 * @module bench
 * `npm run bench`: rates of the library and of the command, each next to a baseline measured in
 * the same run (the machine is shared and noisy, so ratios are what to compare, not seconds).
 *
 * 1. Library: normalize + JSON.stringify of each line, against a floor of JSON.parse of the same
 *    line + JSON.stringify of an object of the output's size (a real output document); once for
 *    the recorder mix and once for an alert-heavy mix (3 Threat Response alerts with deep
 *    `Match Details` for each recorder event), each against its own floor.
 * 2. Command, end to end over a file: `tanium-ecs normalize FILE -o /dev/null`.
 * 3. Worker threads: `--workers 1` and `--workers 2` over a 1,000,000-line file.
 * Options: --events N (library, default 300000), --lines N (workers file, default 1000000).
 */
import { spawnSync } from "node:child_process";
import { createWriteStream, mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { once } from "node:events";
import { fileURLToPath } from "node:url";
import { normalize } from "../src/normalize.ts";
import { generateAlertHeavyLines, generateLines, prng, generateLine } from "./generate.ts";

const args = process.argv.slice(2);
const option = (name: string, fallback: number): number => {
  const at = args.indexOf(name);
  return at >= 0 ? Number(args[at + 1]) : fallback;
};
const EVENTS = option("--events", 300_000);
const WORKER_LINES = option("--lines", 1_000_000);
const ROOT = fileURLToPath(new URL("..", import.meta.url));
const BIN = join(ROOT, "bin", "tanium-ecs.js");
const RSS_HOOK = join(ROOT, "bench", "report-rss.mjs");

const rate = (count: number, ms: number): number => Math.round((count / ms) * 1000);
const fmt = (n: number): string => n.toLocaleString("en-US");

function timeIt(run: () => void): number {
  const start = process.hrtime.bigint();
  run();
  return Number(process.hrtime.bigint() - start) / 1e6;
}

function library(lines: readonly string[]): { floor: number; lib: number } {
  const receivedAt = "2026-01-01T00:00:00.000Z";
  // The floor serializes output-sized documents: a cycle of 1,024 real ones, so that it does not
  // keep 300k documents alive (that would tax the library's garbage collection, not the floor's).
  const docs = lines.slice(0, 1024).map((line) => {
    const r = normalize(line, { receivedAt });
    if (!r.ok) throw new Error(`bench input failed: ${r.error.message}`);
    return r.doc;
  });
  let sink = 0;
  const floorRun = (): void => {
    for (let i = 0; i < lines.length; i++) {
      const parsed: unknown = JSON.parse(lines[i] as string);
      sink += parsed === null ? 0 : JSON.stringify(docs[i & 1023]).length;
    }
  };
  const libRun = (): void => {
    for (const line of lines) {
      const r = normalize(line, { receivedAt });
      sink += r.ok ? JSON.stringify(r.doc).length : 0;
    }
  };
  // Warm both up, then alternate runs and keep each one's best, so drift hits both alike.
  floorRun();
  libRun();
  let floorMs = Infinity;
  let libMs = Infinity;
  for (let round = 0; round < 3; round++) {
    floorMs = Math.min(floorMs, timeIt(floorRun));
    libMs = Math.min(libMs, timeIt(libRun));
  }
  if (sink < 0) console.log(sink);
  return { floor: rate(lines.length, floorMs), lib: rate(lines.length, libMs) };
}

async function writeFile(path: string, count: number): Promise<void> {
  const random = prng(7);
  const out = createWriteStream(path);
  let buffer = "";
  for (let i = 0; i < count; i++) {
    buffer += `${generateLine(random, i)}\n`;
    if (buffer.length > 1 << 20) {
      if (!out.write(buffer)) await once(out, "drain");
      buffer = "";
    }
  }
  out.end(buffer);
  await once(out, "finish");
}

function runCommand(file: string, extra: string[]): { ms: number; rssMb: number } {
  const start = process.hrtime.bigint();
  const child = spawnSync(
    process.execPath,
    ["--import", RSS_HOOK, BIN, "normalize", file, "-o", "/dev/null", "--no-progress", ...extra],
    {
      encoding: "utf8",
      maxBuffer: 1 << 26,
    },
  );
  const ms = Number(process.hrtime.bigint() - start) / 1e6;
  if (child.status !== 0) throw new Error(`tanium-ecs exited ${child.status}: ${child.stderr.slice(-2000)}`);
  const rss = /max-rss-kb=(\d+)/.exec(child.stderr)?.[1];
  return { ms, rssMb: rss === undefined ? NaN : Math.round(Number(rss) / 1024) };
}

async function main(): Promise<void> {
  console.log(
    `tanium-ecs bench on node ${process.version}, ${EVENTS} events (library), ${WORKER_LINES} lines (workers)`,
  );
  const { floor, lib } = library(generateLines(EVENTS));
  console.log(`library   recorder mix, floor (JSON.parse + JSON.stringify): ${fmt(floor)} events/s`);
  console.log(
    `library   recorder mix, normalize + JSON.stringify:         ${fmt(lib)} events/s  = ${(lib / floor).toFixed(2)} x floor (aim >= 0.50)`,
  );
  // Alert lines are ~2.4 kB against ~0.6 kB: a third as many keep the run's length comparable.
  const alerts = library(generateAlertHeavyLines(Math.max(1, Math.round(EVENTS / 3))));
  console.log(`library   alert-heavy mix, floor:                          ${fmt(alerts.floor)} events/s`);
  console.log(
    `library   alert-heavy mix, normalize + JSON.stringify:      ${fmt(alerts.lib)} events/s  = ${(alerts.lib / alerts.floor).toFixed(2)} x floor, ${(alerts.lib / lib).toFixed(2)} x the recorder mix`,
  );

  const dir = mkdtempSync(join(tmpdir(), "tanium-ecs-bench-"));
  try {
    const small = join(dir, "events.ndjson");
    await writeFile(small, EVENTS);
    const e2e = runCommand(small, []);
    console.log(
      `command   normalize FILE (${fmt(EVENTS)} lines, ${(statSync(small).size / 1e6).toFixed(0)} MB): ${fmt(rate(EVENTS, e2e.ms))} events/s = ${(rate(EVENTS, e2e.ms) / floor).toFixed(2)} x library floor, max RSS ${e2e.rssMb} MB`,
    );
    const big = join(dir, "big.ndjson");
    await writeFile(big, WORKER_LINES);
    const one = runCommand(big, ["--workers", "1"]);
    const two = runCommand(big, ["--workers", "2"]);
    const r1 = rate(WORKER_LINES, one.ms);
    const r2 = rate(WORKER_LINES, two.ms);
    console.log(
      `workers   --workers 1 (${fmt(WORKER_LINES)} lines, ${(statSync(big).size / 1e6).toFixed(0)} MB): ${fmt(r1)} events/s, max RSS ${one.rssMb} MB`,
    );
    console.log(
      `workers   --workers 2: ${fmt(r2)} events/s, max RSS ${two.rssMb} MB = ${(r2 / r1).toFixed(2)} x --workers 1 (aim >= 1.60)`,
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
// 3b. With `--baseline DIR` (another built checkout, e.g. the previous main): the `normalize`
// command of both over the same file, alternating (bench/baseline.ts).
{
  const at = args.indexOf("--baseline");
  if (at >= 0) await (await import("./baseline.ts")).baselineBench(args[at + 1] ?? "");
}
// 4. The intake server under a loopback load, next to the command (bench/server.ts).
await (await import("./server.ts")).serverBench();
// 5. Hostile HTTP load: peak RSS and /healthz latency (bench/overload.ts).
await (await import("./overload.ts")).overloadBench();
// 6. The DuckDB store over 1,000,000 events: the rate curve and disk per million (bench/store-growth.ts,
// a process of its own: it holds the million normalized documents in memory before timing).
{
  const { spawnSync } = await import("node:child_process");
  const script = fileURLToPath(new URL("./store-growth.ts", import.meta.url));
  const run = spawnSync(process.execPath, ["--max-old-space-size=8192", "--import", "tsx", script], {
    stdio: "inherit",
  });
  if (run.status !== 0) throw new Error(`bench/store-growth.ts exited ${run.status}`);
}
// 7. The NATS mode: receiver -> stream -> 1 and 2 workers, next to `serve` alone (bench/broker.ts).
await (await import("./broker.ts")).brokerBench();

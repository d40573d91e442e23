/**
 * @module bench/overload
 * Hostile HTTP load on a real `tanium-ecs serve` (default settings, DuckDB in a temporary folder),
 * reporting the server's peak RSS, its longest event-loop stall, and the latency of /healthz,
 * polled every 50 ms from a worker thread (its own event loop, so the load's sending does not
 * delay the poll; the poll's time still includes waiting for a core the load generator holds). Phases, bounded in
 * count and each capped at `maxSeconds`:
 * 1. flood: 16 concurrent 16 MiB bodies of junk lines (256 distinct texts each, repeated), a gzip
 *    bomb of 4 MiB of `x\n` (4 KB on the wire) and one of 16 MiB (16 KB), while 200 slow senders
 *    hold bodies open;
 * 2. unique: 4 concurrent 4 MiB bodies of junk lines all distinct (a row each).
 * Refused bodies (503 + Retry-After) are counted, not resent.
 * Run alone (after `npm run build`): `node --import tsx bench/overload.ts`.
 */
import { spawn } from "node:child_process";
import { once } from "node:events";
import { mkdtempSync, rmSync } from "node:fs";
import { request, type ClientRequest } from "node:http";
import { setPriority, tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath, pathToFileURL } from "node:url";
import { Worker } from "node:worker_threads";
import { gzipSync } from "node:zlib";

const ROOT = fileURLToPath(new URL("..", import.meta.url));
const BIN = join(ROOT, "bin", "tanium-ecs.js");
const RSS_HOOK = join(ROOT, "bench", "report-rss.mjs");
const MIB = 1024 * 1024;

export interface OverloadResult {
  readonly peakRssMb: number;
  readonly healthWorstMs: number;
  readonly healthP99Ms: number;
  readonly healthPolls: number;
  /** Any /healthz poll that failed to answer (connection error or timeout). */
  readonly healthFailures: number;
  /** The server's longest event-loop stall after it listened: what /healthz waits behind at worst. */
  readonly serverStallMs: number;
}

function post(url: string, body: Buffer, headers: Record<string, string>, maxMs: number): Promise<number> {
  return new Promise((resolve) => {
    const req = request(`${url}/ingest`, {
      method: "POST",
      headers: { ...headers, "content-length": String(body.length) },
      timeout: maxMs,
    });
    req.on("response", (res) => {
      res.resume();
      res.on("end", () => resolve(res.statusCode ?? 0));
    });
    req.on("timeout", () => req.destroy());
    req.on("error", () => resolve(0));
    req.end(body);
  });
}

/** `bytes` of junk lines: `distinct` texts repeated in turn, or every line distinct. */
function junk(tag: string, bytes: number, distinct: number | "all"): Buffer {
  const parts: string[] = [];
  let size = 0;
  for (let i = 0; size < bytes - 200; i++) {
    const k = distinct === "all" ? i : i % distinct;
    const line = `junk ${tag} ${k} ${"#".repeat(40 + (k % 50))}\n`;
    parts.push(line);
    size += line.length;
  }
  return Buffer.from(parts.join(""));
}

const POLLER = `
const { parentPort, workerData } = require("node:worker_threads");
let stop = false;
parentPort.on("message", () => { stop = true; });
(async () => {
  // One request before the load, not counted: the first fetch of a thread loads its HTTP client
  // (measured: 575 ms under the load, where the server's event loop never stalled past 82 ms).
  await fetch(workerData + "/healthz").then((res) => res.text());
  parentPort.postMessage("ready");
  const times = []; let failures = 0;
  while (!stop) {
    const start = performance.now();
    try {
      const res = await fetch(workerData + "/healthz", { signal: AbortSignal.timeout(10000) });
      await res.text();
      times.push(performance.now() - start);
    } catch { failures++; }
    await new Promise((r) => setTimeout(r, 50));
  }
  parentPort.postMessage({ times, failures });
})();
`;

function tally(statuses: readonly number[]): string {
  const counts = new Map<number, number>();
  for (const s of statuses) counts.set(s, (counts.get(s) ?? 0) + 1);
  return [...counts].map(([s, n]) => `${n} x ${s === 0 ? "cut" : s}`).join(", ");
}

export async function overloadBench(
  options: { maxSeconds?: number; log?: (line: string) => void } = {},
): Promise<OverloadResult> {
  const log = options.log ?? console.log;
  const maxMs = (options.maxSeconds ?? 60) * 1000;
  const dir = mkdtempSync(join(tmpdir(), "tanium-ecs-overload-"));
  const child = spawn(
    process.execPath,
    [
      "--import",
      RSS_HOOK,
      BIN,
      "serve",
      "--http",
      "127.0.0.1:0",
      "--tcp",
      "off",
      "--udp",
      "off",
      "--data",
      dir,
    ],
    { stdio: ["ignore", "pipe", "pipe"] },
  );
  let stderr = "";
  child.stderr.setEncoding("utf8");
  child.stderr.on("data", (text: string) => (stderr += text));
  const slow: ClientRequest[] = [];
  try {
    let port = 0;
    for await (const line of createInterface({ input: child.stdout })) {
      if (!line.includes('"listening"')) continue;
      port = (JSON.parse(line) as { port: number }).port;
      break;
    }
    child.stdout.resume();
    const url = `http://127.0.0.1:${port}`;

    const flood = Array.from({ length: 16 }, (_, i) => junk(`f${i}`, 16 * MIB, 256));
    const bombs = [
      gzipSync(Buffer.from("x\n".repeat(2 * MIB))),
      gzipSync(Buffer.from("x\n".repeat(8 * MIB))),
    ];
    const unique = Array.from({ length: 4 }, (_, i) => junk(`u${i}`, 4 * MIB, "all"));

    const poller = new Worker(POLLER, { eval: true, workerData: url });
    await once(poller, "message");
    child.kill("SIGUSR2");
    // The load generator shares the two cores with the server; in a deployment senders are other
    // machines. Its main thread (only: setpriority on Linux is per thread) steps back, so that the
    // poll measures the server's answer, not the poll's wait for a core behind the senders.
    setPriority(0, 10);
    const polled = once(poller, "message") as Promise<[{ times: number[]; failures: number }]>;

    for (let i = 0; i < 200; i++) {
      const req = request(`${url}/ingest`, {
        method: "POST",
        headers: { "content-type": "text/plain", "content-length": "10000" },
      });
      req.on("error", () => {});
      req.on("response", (res) => res.resume());
      req.write("a slow sender's first line\n");
      slow.push(req);
    }

    let start = performance.now();
    const floodStatuses = await Promise.all([
      ...flood.map((body) => post(url, body, { "content-type": "text/plain" }, maxMs)),
      ...bombs.map((body) =>
        post(url, body, { "content-type": "text/plain", "content-encoding": "gzip" }, maxMs),
      ),
    ]);
    log(
      `overload  flood: 16 x 16 MiB junk bodies + gzip bombs of 4 and 16 MiB (${bombs.map((b) => b.length).join(" and ")} bytes sent), 200 slow senders: ${Math.round(performance.now() - start)} ms, ${tally(floodStatuses)}`,
    );
    start = performance.now();
    const uniqueStatuses = await Promise.all(
      unique.map((body) => post(url, body, { "content-type": "text/plain" }, maxMs)),
    );
    log(
      `overload  unique: 4 x 4 MiB bodies of distinct junk lines (${fmtCount(unique)} dead letters): ${Math.round(performance.now() - start)} ms, ${tally(uniqueStatuses)}`,
    );

    poller.postMessage("stop");
    child.kill("SIGUSR2");
    const [{ times, failures }] = await polled;
    await poller.terminate();
    for (const req of slow) req.destroy();
    const stopStart = performance.now();
    child.kill("SIGTERM");
    await once(child, "exit");
    const stopMs = Math.round(performance.now() - stopStart);
    const rssKb = Number(/max-rss-kb=(\d+)/.exec(stderr)?.[1] ?? NaN);
    const stallMs = Number(/max-loop-delay-ms=(\d+)/.exec(stderr)?.[1] ?? NaN);
    const sorted = [...times].sort((a, b) => a - b);
    const result: OverloadResult = {
      peakRssMb: Math.round(rssKb / 1024),
      healthWorstMs: Math.round(sorted.at(-1) ?? NaN),
      healthP99Ms: Math.round(sorted[Math.floor(sorted.length * 0.99)] ?? NaN),
      healthPolls: times.length,
      healthFailures: failures,
      serverStallMs: stallMs,
    };
    log(
      `overload  server peak RSS ${result.peakRssMb} MB (aim < 512); /healthz over ${result.healthPolls} polls: p99 ${result.healthP99Ms} ms, worst ${result.healthWorstMs} ms, ${failures} unanswered; server's longest event-loop stall ${result.serverStallMs} ms; SIGTERM to exit ${stopMs} ms`,
    );
    return result;
  } finally {
    for (const req of slow) req.destroy();
    if (child.exitCode === null && child.signalCode === null) {
      child.kill("SIGKILL");
      await once(child, "exit");
    }
    rmSync(dir, { recursive: true, force: true });
  }
}

function fmtCount(bodies: readonly Buffer[]): string {
  let lines = 0;
  for (const b of bodies) for (let i = b.indexOf(10); i !== -1; i = b.indexOf(10, i + 1)) lines++;
  return lines.toLocaleString("en-US");
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) await overloadBench();

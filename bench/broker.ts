/**
 * @module bench/broker
 * The NATS mode under a loopback load, next to `serve` alone in the same run (the machine is
 * shared and its speed drifts: compare the ratios, not the seconds). The same HTTP load each time,
 * 4 clients × 500-event NDJSON batches of generated recorder events (`bench/generate.ts`):
 * - baseline: `serve` alone, normalizing into its DuckDB store, each batch answered after commit;
 * - `serve --publish` (one receiver) → the raw stream → 1 worker, then 2 workers (`worker`, each
 *   delivering to its own DuckDB store, the baseline's sink, or with `--broker-sink null` to the
 *   null sink): "acknowledged" is the receiver's rate (each batch answered once JetStream has it),
 *   "through" runs from the first request until the consumer has every message acknowledged by
 *   the workers (pending 0, unacknowledged 0, ack floor at the stream's last sequence).
 * The broker is a fresh 3-node cluster with R3 streams for each phase (`--broker-nodes 1`: one
 * node, R1), from the test suite's harness (`test/support/nats.ts`, Debian's nats-server). Each
 * broker phase also reports the raw stream's bytes per event, for sizing its storage.
 * The baseline runs before, between and after the two broker phases; each is compared with the
 * mean of the baselines on either side of it. CPU time per event of each process (from /proc,
 * Linux) says what to size when they run on machines of their own: here all share 2 cores.
 * Bounded: `--broker-events N` (default 200,000) per phase, each stopped after `--broker-seconds`
 * (default 90). Run alone (after `npm run build`, under the bench lock):
 * `node --import tsx bench/broker.ts [--broker-events N] [--broker-nodes 1|3] [--broker-sink duckdb|null]`.
 */
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { setTimeout as sleep } from "node:timers/promises";
import { fileURLToPath, pathToFileURL } from "node:url";
import { connectBroker } from "../src/broker/connection.ts";
import { natsSettings } from "../src/broker/settings.ts";
import { brokerStatus, isMissing } from "../src/broker/status.ts";
import { startNatsCluster } from "../test/support/nats.ts";
import { generateLines } from "./generate.ts";

const ROOT = fileURLToPath(new URL("..", import.meta.url));
const BIN = join(ROOT, "bin", "tanium-ecs.js");
const HTTP_BATCH = 500;
const HTTP_CLIENTS = 4;

export interface BrokerBenchOptions {
  /** Events per phase (default 200,000). */
  readonly events?: number;
  /** Cap on each phase, in seconds (default 90). */
  readonly maxSeconds?: number;
  /** 3 (default): a 3-node cluster, R3 streams; 1: one node, R1. */
  readonly nodes?: 1 | 3;
  /** What the workers deliver to: their own DuckDB store (default, as the baseline) or the null sink. */
  readonly sink?: "duckdb" | "null";
  readonly log?: (line: string) => void;
}

export interface BrokerBenchResult {
  readonly baseline: readonly number[];
  /** CPU µs per event of `serve` alone, and by worker count of the receiver, all workers together, and each NATS node on average. */
  readonly cpu: {
    readonly serve: number;
    readonly receiver: Readonly<Record<number, number>>;
    readonly worker: Readonly<Record<number, number>>;
    readonly natsNode: Readonly<Record<number, number>>;
  };
  /** events/s by worker count: answered to the senders, and all acknowledged by the workers. */
  readonly acknowledged: Readonly<Record<number, number>>;
  readonly through: Readonly<Record<number, number>>;
  /** The raw stream's bytes per event (headers and JetStream's per-message overhead included). */
  readonly streamBytesPerEvent: number;
}

const rate = (count: number, ms: number): number => Math.round((count / ms) * 1000);
const fmt = (n: number): string => n.toLocaleString("en-US");
const now = (): number => Number(process.hrtime.bigint()) / 1e6;

/** Clock ticks per second of /proc's CPU times (USER_HZ). */
const TICKS = Number(spawnSync("getconf", ["CLK_TCK"], { encoding: "utf8" }).stdout.trim()) || 100;

/** CPU time (user + system) a process has used so far, ms, from /proc (Linux); NaN elsewhere. */
function cpuMs(pid: number | undefined): number {
  if (pid === undefined) return NaN;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / TICKS;
  } catch {
    return NaN;
  }
}

/** The processes whose command line contains `text` (the cluster's nodes: their config paths). */
function pidsWith(text: string): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (readFileSync(`/proc/${entry}/cmdline`, "utf8").includes(text)) pids.push(Number(entry));
    } catch {
      // Gone meanwhile.
    }
  }
  return pids;
}

const sum = (values: readonly number[]): number => values.reduce((a, b) => a + b, 0);
/** CPU µs per event. */
const perEvent = (ms: number, events: number): number => Math.round((ms * 1000) / Math.max(1, events));

interface Cli {
  readonly child: ChildProcess;
  readonly ports: Map<string, number>;
  stop(): Promise<void>;
}

/** `tanium-ecs <args>`, resolved once `ready` holds for one of its JSON log lines. */
async function startCli(
  args: readonly string[],
  ready: (entry: Record<string, unknown>, ports: Map<string, number>) => boolean,
): Promise<Cli> {
  const child = spawn(process.execPath, [BIN, ...args], {
    stdio: ["ignore", "pipe", "inherit"],
    env: { ...process.env, TANIUM_ECS_TOKEN: "" },
  });
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  const ports = new Map<string, number>();
  const lines = createInterface({ input: child.stdout! });
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`tanium-ecs ${args[0]} did not start`)), 30_000);
    let done = false;
    lines.on("line", (line) => {
      if (done) return;
      let entry: Record<string, unknown>;
      try {
        entry = JSON.parse(line) as Record<string, unknown>;
      } catch {
        return;
      }
      if (entry.msg === "listening" && typeof entry.input === "string" && typeof entry.port === "number")
        ports.set(entry.input, entry.port);
      if (ready(entry, ports)) {
        done = true;
        clearTimeout(timer);
        resolve();
      }
    });
    void exited.then(() => {
      clearTimeout(timer);
      if (!done) reject(new Error(`tanium-ecs ${args[0]} exited before it was ready`));
    });
  });
  return {
    child,
    ports,
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill("SIGTERM");
      const timer = setTimeout(() => child.kill("SIGKILL"), 30_000);
      await exited;
      clearTimeout(timer);
    },
  };
}

/** The HTTP load: every batch answered 200 (a 503 is resent after its Retry-After); events/s. */
async function httpLoad(
  url: string,
  bodies: readonly string[],
  deadline: number,
): Promise<{ acked: number; ms: number }> {
  let next = 0;
  let acked = 0;
  const start = now();
  const client = async (): Promise<void> => {
    while (next < bodies.length && now() < deadline) {
      const body = bodies[next++]!;
      for (;;) {
        const response = await fetch(`${url}/ingest`, {
          method: "POST",
          headers: { "content-type": "application/x-ndjson" },
          body,
        });
        const text = await response.text();
        if (response.status === 200) {
          acked += HTTP_BATCH;
          break;
        }
        if (response.status !== 503) throw new Error(`HTTP ${response.status}: ${text.slice(0, 500)}`);
        await sleep(Math.min(1000, Number(response.headers.get("retry-after") ?? "0.05") * 1000 || 50));
      }
    }
  };
  await Promise.all(Array.from({ length: HTTP_CLIENTS }, client));
  return { acked, ms: now() - start };
}

const httpReady = (_: unknown, ports: Map<string, number>): boolean => ports.has("http");
const serveArgs = (data: string, extra: readonly string[] = []): string[] => [
  "serve",
  "--data",
  data,
  "--http",
  "127.0.0.1:0",
  "--tcp",
  "off",
  "--udp",
  "off",
  ...extra,
];

export async function brokerBench(options: BrokerBenchOptions = {}): Promise<BrokerBenchResult> {
  const events = Math.ceil((options.events ?? 200_000) / HTTP_BATCH) * HTTP_BATCH;
  const maxMs = (options.maxSeconds ?? 90) * 1000;
  const nodes = options.nodes ?? 3;
  const sink = options.sink ?? "duckdb";
  const log = options.log ?? ((line: string) => console.log(line));
  const dir = mkdtempSync(join(tmpdir(), "tanium-ecs-bench-broker-"));
  const lines = generateLines(events, 31);
  const bodies: string[] = [];
  for (let i = 0; i < lines.length; i += HTTP_BATCH) bodies.push(lines.slice(i, i + HTTP_BATCH).join("\n"));
  let phase = 0;
  try {
    const serveCpu: number[] = [];
    const baselineRun = async (): Promise<number> => {
      const serve = await startCli(serveArgs(join(dir, `serve-${phase++}`)), httpReady);
      try {
        const cpu = cpuMs(serve.child.pid);
        const { acked, ms } = await httpLoad(
          `http://127.0.0.1:${serve.ports.get("http")}`,
          bodies,
          now() + maxMs,
        );
        serveCpu.push(perEvent(cpuMs(serve.child.pid) - cpu, acked));
        return rate(acked, ms);
      } finally {
        await serve.stop();
      }
    };
    const brokerRun = async (
      workers: number,
    ): Promise<{
      acknowledged: number;
      through: number;
      bytesPerEvent: number;
      cpu: { receiver: number; worker: number; natsNode: number };
    }> => {
      const cluster = await startNatsCluster(nodes, { maxFileStore: "4GB" });
      const here = join(dir, `broker-${phase++}`);
      try {
        // A receiver takes no sinks (the workers have them): one file each.
        const nats = `nats:\n  replicas: ${nodes}\n  max_bytes: 2GB\n`;
        const receiverConfig = join(dir, `receiver-${phase}.yaml`);
        const workerConfig = join(dir, `worker-${phase}.yaml`);
        writeFileSync(receiverConfig, nats);
        writeFileSync(workerConfig, sink === "null" ? `${nats}sinks:\n  bench:\n    type: "null"\n` : nats);
        const urls = cluster.urls.join(",");
        const receiver = await startCli(
          serveArgs(join(here, "receiver"), ["--publish", urls, "--config", receiverConfig]),
          httpReady,
        );
        const started = await Promise.all(
          Array.from({ length: workers }, (_, i) =>
            startCli(
              ["worker", "--nats", urls, "--config", workerConfig, "--data", join(here, `worker-${i}`)],
              (entry) => typeof entry.msg === "string" && /worker started/i.test(entry.msg),
            ),
          ),
        );
        const settings = natsSettings.parse({ servers: cluster.urls, replicas: nodes });
        const broker = await connectBroker(settings, { name: "bench-broker" });
        try {
          const natsPids = pidsWith(cluster.dir);
          const cpuOf = (): { receiver: number; workers: number; nats: number } => ({
            receiver: cpuMs(receiver.child.pid),
            workers: sum(started.map((w) => cpuMs(w.child.pid))),
            nats: sum(natsPids.map(cpuMs)),
          });
          const cpuBefore = cpuOf();
          const deadline = now() + maxMs;
          const start = now();
          const { acked, ms } = await httpLoad(
            `http://127.0.0.1:${receiver.ports.get("http")}`,
            bodies,
            deadline,
          );
          let bytesPerEvent = NaN;
          for (;;) {
            const status = await brokerStatus(broker.jsm, settings);
            if (!isMissing(status.raw) && !isMissing(status.consumer)) {
              bytesPerEvent = status.raw.bytes / Math.max(1, status.raw.messages);
              const c = status.consumer;
              if (c.pending === 0 && c.ackPending === 0 && c.ackFloor.streamSeq >= status.raw.lastSeq) break;
            }
            if (now() > deadline) break;
            await sleep(50);
          }
          const through = rate(acked, now() - start);
          const cpuAfter = cpuOf();
          return {
            acknowledged: rate(acked, ms),
            through,
            bytesPerEvent,
            cpu: {
              receiver: perEvent(cpuAfter.receiver - cpuBefore.receiver, acked),
              worker: perEvent(cpuAfter.workers - cpuBefore.workers, acked),
              natsNode: perEvent((cpuAfter.nats - cpuBefore.nats) / Math.max(1, natsPids.length), acked),
            },
          };
        } finally {
          await broker.close();
          await Promise.all([receiver, ...started].map((cli) => cli.stop()));
        }
      } finally {
        await cluster.stop();
      }
    };

    const b0 = await baselineRun();
    log(
      `broker    serve alone (DuckDB), HTTP ${HTTP_CLIENTS} clients x ${HTTP_BATCH}-event batches, ${fmt(events)} events, before: ${fmt(b0)} events/s`,
    );
    const shape = `${nodes === 3 ? "3-node cluster, R3" : "1 node, R1"}, workers into ${sink === "null" ? "the null sink" : "DuckDB (one store each)"}`;
    const one = await brokerRun(1);
    const b1 = await baselineRun();
    log(`broker    serve alone, between: ${fmt(b1)} events/s`);
    const mean1 = Math.round((b0 + b1) / 2);
    log(
      `broker    serve --publish -> stream (${shape}) -> 1 worker: acknowledged ${fmt(one.acknowledged)} events/s = ${(one.acknowledged / mean1).toFixed(2)} x serve alone (${fmt(mean1)}); through the worker ${fmt(one.through)} events/s = ${(one.through / mean1).toFixed(2)} x; ${Math.round(one.bytesPerEvent)} stream bytes per event`,
    );
    const two = await brokerRun(2);
    const b2 = await baselineRun();
    log(`broker    serve alone, after: ${fmt(b2)} events/s`);
    const mean2 = Math.round((b1 + b2) / 2);
    log(
      `broker    serve --publish -> stream -> 2 workers: acknowledged ${fmt(two.acknowledged)} events/s = ${(two.acknowledged / mean2).toFixed(2)} x serve alone (${fmt(mean2)}); through the workers ${fmt(two.through)} events/s = ${(two.through / mean2).toFixed(2)} x, ${(two.through / one.through).toFixed(2)} x 1 worker`,
    );
    const serveUs = Math.round(sum(serveCpu) / serveCpu.length);
    for (const [count, run] of [
      [1, one],
      [2, two],
    ] as const) {
      log(
        `broker    CPU per event, ${count} worker${count === 1 ? "" : "s"}: receiver ${run.cpu.receiver} µs, workers ${run.cpu.worker} µs, each NATS node ${run.cpu.natsNode} µs; serve alone ${serveUs} µs (= ${fmt(Math.round(1e6 / Math.max(1, run.cpu.worker)))} events/s per core of workers)`,
      );
    }
    return {
      baseline: [b0, b1, b2],
      cpu: {
        serve: serveUs,
        receiver: { 1: one.cpu.receiver, 2: two.cpu.receiver },
        worker: { 1: one.cpu.worker, 2: two.cpu.worker },
        natsNode: { 1: one.cpu.natsNode, 2: two.cpu.natsNode },
      },
      acknowledged: { 1: one.acknowledged, 2: two.acknowledged },
      through: { 1: one.through, 2: two.through },
      streamBytesPerEvent: Math.round((one.bytesPerEvent + two.bytesPerEvent) / 2),
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const arg = (name: string): string | undefined => {
    const at = process.argv.indexOf(name);
    return at >= 0 ? process.argv[at + 1] : undefined;
  };
  const events = arg("--broker-events");
  const seconds = arg("--broker-seconds");
  const nodes = arg("--broker-nodes");
  const sink = arg("--broker-sink");
  await brokerBench({
    ...(events === undefined ? {} : { events: Number(events) }),
    ...(seconds === undefined ? {} : { maxSeconds: Number(seconds) }),
    ...(nodes === undefined ? {} : { nodes: nodes === "1" ? 1 : 3 }),
    ...(sink === undefined ? {} : { sink: sink === "null" ? "null" : "duckdb" }),
  });
}

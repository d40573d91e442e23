/**
 * @module bench/server
 * Loopback load on the real server (`tanium-ecs serve` as a child process, DuckDB store in a
 * temporary folder), next to the `normalize` command's rate over the same events in the same run:
 * - baseline: `normalize FILE -o /dev/null --no-progress` over the events (one process, main thread);
 * - HTTP: batches of 500 NDJSON events from 4 concurrent clients, each acknowledged after commit;
 * - TCP: 2 connections streaming NDJSON, timed until every event is committed (metrics);
 * - HTTP again into a `null` sink (what the pipeline itself costs), and into `--elasticsearch`
 *   against the test suite's bulk protocol server in this process (acknowledged once in the disk
 *   buffer; also timed until the protocol server holds every event).
 * The baseline runs before, between and after the two loads, and each load is compared with the
 * mean of the baselines on either side of it: the machine is shared, and its speed drifts within
 * a run. Each load starts a fresh server on an empty store.
 * Bounded: `--server-events N` events per phase (default 200,000), and each phase stops after 20 s.
 * Run alone (after `npm run build`): `node --import tsx bench/server.ts [--server-events N]`.
 */
import { spawn, spawnSync } from "node:child_process";
import { once } from "node:events";
import { createWriteStream, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { connect } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath, pathToFileURL } from "node:url";
import { FakeElasticsearch } from "../test/support/fake-elasticsearch.ts";
import { generateLines } from "./generate.ts";

const ROOT = fileURLToPath(new URL("..", import.meta.url));
const BIN = join(ROOT, "bin", "tanium-ecs.js");
const HTTP_BATCH = 500;
const HTTP_CLIENTS = 4;
const TCP_CONNECTIONS = 2;

export interface ServerBenchOptions {
  /** Events per phase (default 200,000). */
  readonly events?: number;
  /** Cap on each phase, in seconds (default 20). */
  readonly maxSeconds?: number;
  /** Prints the lines as they come (default console.log). */
  readonly log?: (line: string) => void;
}

export interface ServerBenchResult {
  /** events/s of each; `http` and `tcp` count only what was committed within the time cap. */
  readonly http: number;
  readonly tcp: number;
  /** The baseline's events/s around each load: the mean of the runs before and after it. */
  readonly httpBaseline: number;
  readonly tcpBaseline: number;
  /** HTTP into a `null` sink (the pipeline's own cost), and into Elasticsearch (the bulk protocol server, behind the disk buffer). */
  readonly nullSink: number;
  readonly nullBaseline: number;
  readonly elasticsearch: number;
  /** From the first request until the protocol server holds every event. */
  readonly elasticsearchDelivered: number;
  readonly elasticsearchBaseline: number;
}

const rate = (count: number, ms: number): number => Math.round((count / ms) * 1000);
const fmt = (n: number): string => n.toLocaleString("en-US");
const now = (): number => Number(process.hrtime.bigint()) / 1e6;

async function writeLines(path: string, lines: readonly string[]): Promise<void> {
  const out = createWriteStream(path);
  for (let i = 0; i < lines.length; i += 10_000) {
    if (!out.write(lines.slice(i, i + 10_000).join("\n") + "\n")) await once(out, "drain");
  }
  out.end();
  await once(out, "finish");
}

function normalizeRate(file: string, count: number): number {
  const start = now();
  const child = spawnSync(process.execPath, [BIN, "normalize", file, "-o", "/dev/null", "--no-progress"], {
    encoding: "utf8",
  });
  const ms = now() - start;
  if (child.status !== 0) throw new Error(`normalize exited ${child.status}: ${child.stderr.slice(-2000)}`);
  return rate(count, ms);
}

interface Running {
  readonly http: string;
  readonly tcpPort: number;
  stop(): Promise<void>;
}

async function startServe(dataDir: string, extra: readonly string[] = []): Promise<Running> {
  const child = spawn(
    process.execPath,
    [
      BIN,
      "serve",
      "--data",
      dataDir,
      "--http",
      "127.0.0.1:0",
      "--tcp",
      "127.0.0.1:0",
      "--udp",
      "off",
      ...extra,
    ],
    {
      stdio: ["ignore", "pipe", "inherit"],
      env: { ...process.env, TANIUM_ECS_TOKEN: "" },
    },
  );
  const exited = once(child, "exit");
  const ports = new Map<string, number>();
  const lines = createInterface({ input: child.stdout });
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error("the server did not start")), 20_000);
    lines.on("line", (line) => {
      const entry = JSON.parse(line) as { msg?: string; input?: string; port?: number };
      if (entry.msg === "listening" && entry.input !== undefined && entry.port !== undefined) {
        ports.set(entry.input, entry.port);
        if (ports.has("http") && ports.has("tcp")) {
          clearTimeout(timer);
          resolve();
        }
      }
    });
  });
  return {
    http: `http://127.0.0.1:${ports.get("http")}`,
    tcpPort: ports.get("tcp")!,
    async stop() {
      child.kill("SIGTERM");
      await exited;
    },
  };
}

async function committed(http: string): Promise<number> {
  const text = await (await fetch(`${http}/metrics`)).text();
  let total = 0;
  for (const line of text.split("\n")) {
    if (line.startsWith("tanium_ecs_documents_total ") || line.startsWith("tanium_ecs_dead_letters_total{")) {
      total += Number(line.slice(line.lastIndexOf(" ") + 1));
    }
  }
  return total;
}

async function httpPhase(http: string, lines: readonly string[], deadline: number): Promise<number> {
  const bodies: string[] = [];
  for (let i = 0; i < lines.length; i += HTTP_BATCH) bodies.push(lines.slice(i, i + HTTP_BATCH).join("\n"));
  let next = 0;
  let acked = 0;
  const start = now();
  const client = async (): Promise<void> => {
    while (next < bodies.length && now() < deadline) {
      const body = bodies[next++]!;
      for (;;) {
        const response = await fetch(`${http}/ingest`, {
          method: "POST",
          headers: { "content-type": "application/x-ndjson" },
          body,
        });
        const answer = (await response.json()) as { accepted?: number; dead_letters?: number };
        if (response.status === 200) {
          acked += (answer.accepted ?? 0) + (answer.dead_letters ?? 0);
          break;
        }
        if (response.status !== 503) throw new Error(`HTTP ${response.status}: ${JSON.stringify(answer)}`);
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    }
  };
  await Promise.all(Array.from({ length: HTTP_CLIENTS }, client));
  return rate(acked, now() - start);
}

async function tcpPhase(running: Running, lines: readonly string[], deadline: number): Promise<number> {
  const before = await committed(running.http);
  const start = now();
  const per = Math.ceil(lines.length / TCP_CONNECTIONS);
  await Promise.all(
    Array.from({ length: TCP_CONNECTIONS }, async (_, c) => {
      const socket = connect({ host: "127.0.0.1", port: running.tcpPort });
      await once(socket, "connect");
      const mine = lines.slice(c * per, (c + 1) * per);
      for (let i = 0; i < mine.length && now() < deadline; i += 1000) {
        if (!socket.write(mine.slice(i, i + 1000).join("\n") + "\n")) await once(socket, "drain");
      }
      socket.end();
      await once(socket, "close");
    }),
  );
  // Sent is not stored: wait for the commits (the events are distinct, so each one counts).
  let done = (await committed(running.http)) - before;
  while (done < lines.length && now() < deadline + 5000) {
    await new Promise((resolve) => setTimeout(resolve, 20));
    done = (await committed(running.http)) - before;
  }
  return rate(done, now() - start);
}

export async function serverBench(options: ServerBenchOptions = {}): Promise<ServerBenchResult> {
  const events = options.events ?? 200_000;
  const maxMs = (options.maxSeconds ?? 20) * 1000;
  const log = options.log ?? ((line: string) => console.log(line));
  const dir = mkdtempSync(join(tmpdir(), "tanium-ecs-bench-server-"));
  try {
    const httpLines = generateLines(events, 11);
    const tcpLines = generateLines(events, 12);
    const file = join(dir, "events.ndjson");
    await writeLines(file, httpLines);
    const baseline = (): number => normalizeRate(file, events);
    const first = baseline();
    log(
      `server    normalize FILE (${fmt(events)} events, the baseline), before HTTP: ${fmt(first)} events/s`,
    );

    // Each phase on a fresh server and an empty store, so that the two inputs are compared alike
    // (the store slows as it grows: see bench/store-write.ts).
    let running = await startServe(join(dir, "data-http"));
    let http: number;
    try {
      http = await httpPhase(running.http, httpLines, now() + maxMs);
    } finally {
      await running.stop();
    }
    const second = baseline();
    log(`server    normalize FILE, between HTTP and TCP: ${fmt(second)} events/s`);
    const httpBaseline = Math.round((first + second) / 2);
    log(
      `server    HTTP ${HTTP_CLIENTS} clients x ${HTTP_BATCH}-event NDJSON batches, acknowledged after commit: ${fmt(http)} events/s = ${(http / httpBaseline).toFixed(2)} x normalize (${fmt(httpBaseline)}, aim >= 0.40)`,
    );
    running = await startServe(join(dir, "data-tcp"));
    let tcp: number;
    try {
      tcp = await tcpPhase(running, tcpLines, now() + maxMs);
    } finally {
      await running.stop();
    }
    const third = baseline();
    log(`server    normalize FILE, after TCP: ${fmt(third)} events/s`);
    const tcpBaseline = Math.round((second + third) / 2);
    log(
      `server    TCP ${TCP_CONNECTIONS} connections streaming NDJSON, until committed: ${fmt(tcp)} events/s = ${(tcp / tcpBaseline).toFixed(2)} x normalize (${fmt(tcpBaseline)}, aim >= 0.40)`,
    );

    // The pipeline's own cost: the same HTTP load into a sink that settles at once.
    const nullConfig = join(dir, "null.yaml");
    writeFileSync(nullConfig, 'sinks:\n  bench:\n    type: "null"\n');
    running = await startServe(join(dir, "data-null"), ["--config", nullConfig]);
    let nullSink: number;
    try {
      nullSink = await httpPhase(running.http, httpLines, now() + maxMs);
    } finally {
      await running.stop();
    }
    const fourth = baseline();
    log(`server    normalize FILE, after the null sink: ${fmt(fourth)} events/s`);
    const nullBaseline = Math.round((third + fourth) / 2);
    log(
      `server    HTTP into the null sink (the same load): ${fmt(nullSink)} events/s = ${(nullSink / nullBaseline).toFixed(2)} x normalize (${fmt(nullBaseline)}, aim >= 0.80)`,
    );

    // Elasticsearch's bulk protocol, served in this process by the test suite's server
    // (test/support/fake-elasticsearch.ts): acknowledged once in the disk buffer, then delivered.
    const es = new FakeElasticsearch();
    const esUrl = await es.listen();
    running = await startServe(join(dir, "data-es"), ["--elasticsearch", esUrl]);
    let elasticsearch: number;
    let elasticsearchDelivered: number;
    try {
      const start = now();
      elasticsearch = await httpPhase(running.http, httpLines, now() + maxMs);
      while (es.storedCount() < events && now() < start + maxMs * 2) {
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      elasticsearchDelivered = rate(es.storedCount(), now() - start);
    } finally {
      await running.stop();
      await es.close();
    }
    const fifth = baseline();
    log(`server    normalize FILE, after Elasticsearch: ${fmt(fifth)} events/s`);
    const elasticsearchBaseline = Math.round((fourth + fifth) / 2);
    log(
      `server    HTTP into --elasticsearch (bulk protocol server on loopback, disk buffer): acknowledged ${fmt(elasticsearch)} events/s = ${(elasticsearch / elasticsearchBaseline).toFixed(2)} x normalize (${fmt(elasticsearchBaseline)}); all stored in the bulk server: ${fmt(elasticsearchDelivered)} events/s = ${(elasticsearchDelivered / elasticsearchBaseline).toFixed(2)} x`,
    );
    return {
      http,
      tcp,
      httpBaseline,
      tcpBaseline,
      nullSink,
      nullBaseline,
      elasticsearch,
      elasticsearchDelivered,
      elasticsearchBaseline,
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const at = process.argv.indexOf("--server-events");
  await serverBench(at >= 0 ? { events: Number(process.argv[at + 1]) } : {});
}

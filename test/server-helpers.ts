/**
 * @module test/server-helpers
 * What the server tests share: Tanium events with distinct `event.id`s, a real server on loopback
 * port 0 over a real DuckDB store in a temporary folder, its logs kept in memory, and a store
 * wrapper that delays commits (to saturate the queue without a fake store).
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Writable } from "node:stream";
import { pino } from "pino";
import { resolveConfig, type RawSettings } from "../src/server/config.ts";
import type { StoreHealthOptions } from "../src/server/health.ts";
import { startServer, type ServerHandle } from "../src/server/server.ts";
import { stores } from "../src/store/index.ts";
import type { EventStore } from "../src/store/store.ts";
import { REPO_ROOT } from "./helpers.ts";

export const TLS_CERT = join(REPO_ROOT, "test", "fixtures", "tls", "cert.pem");
export const TLS_KEY = join(REPO_ROOT, "test", "fixtures", "tls", "key.pem");

/** One recorder `file_open` event; `n` makes its text, hence its `event.id`, unique. */
export function eventLine(n: number, tag = "t"): string {
  return JSON.stringify({
    event: "file_open",
    hostname: `host-${tag}`,
    host: "10.0.0.1",
    timestamp: "2026-01-01T00:00:00.000000+00:00",
    tanium_computer_id: "1000000001",
    fields: { full_path: `/tmp/${tag}/file-${n}.txt`, read_flag: true, process__pid: 42 },
  });
}

export function eventLines(count: number, tag = "t", from = 0): string[] {
  return Array.from({ length: count }, (_, i) => eventLine(from + i, tag));
}

export function tempDir(): string {
  return mkdtempSync(join(tmpdir(), "tanium-ecs-server-"));
}

export interface TestServer {
  readonly handle: ServerHandle;
  readonly dir: string;
  readonly logs: Record<string, unknown>[];
  /** `http://127.0.0.1:<port>` */
  readonly url: string;
  readonly tcpPort: number;
  readonly udpPort: number;
  /** Closes the server (and its store) and removes the data folder. */
  stop(): Promise<void>;
}

/** A server on 127.0.0.1 port 0 for every input, with `settings` on top (flag spelling). */
export async function startTestServer(
  settings: RawSettings = {},
  wrap?: (store: EventStore) => EventStore,
  health?: StoreHealthOptions,
): Promise<TestServer> {
  const dir = tempDir();
  const config = resolveConfig({
    flags: {
      http: "127.0.0.1:0",
      tcp: "127.0.0.1:0",
      udp: "127.0.0.1:0",
      data: dir,
      "batch-ms": "10",
      "log-level": "debug",
      ...settings,
    },
  });
  const logs: Record<string, unknown>[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString("utf8").split("\n")) {
        if (line !== "") logs.push(JSON.parse(line) as Record<string, unknown>);
      }
      done();
    },
  });
  const logger = pino({ level: "debug" }, sink);
  const real = await stores.duckdb({ dataDir: dir });
  const handle = await startServer(config, {
    logger,
    store: wrap === undefined ? real : wrap(real),
    ...(health === undefined ? {} : { health }),
  });
  const port = (name: "http" | "tcp" | "udp"): number =>
    handle.inputs.find((i) => i.name === name)?.port ?? 0;
  let stopped = false;
  return {
    handle,
    dir,
    logs,
    url: `http://127.0.0.1:${port("http")}`,
    tcpPort: port("tcp"),
    udpPort: port("udp"),
    async stop() {
      if (stopped) return;
      stopped = true;
      await handle.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** The real store, its commits held back by `delayMs` each (a disk that cannot keep up). */
export function slowStore(store: EventStore, delayMs: number): EventStore {
  return {
    name: store.name,
    async write(batch) {
      await new Promise((resolve) => setTimeout(resolve, delayMs));
      return store.write(batch);
    },
    query: (sql, options) => store.query(sql, options),
    close: () => store.close(),
  };
}

/** One number from a SQL query on the server's store. */
export async function scalar(server: TestServer, sql: string): Promise<unknown> {
  const result = await server.handle.store.query(sql);
  return result.rows[0]?.[0];
}

/** Polls `check` until it returns true (or fails after `timeoutMs`). */
export async function eventually(check: () => Promise<boolean> | boolean, timeoutMs = 5000): Promise<void> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    if (await check()) return;
    if (Date.now() > until) throw new Error(`condition not met within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** The value of one sample in Prometheus text (`name{labels}` as printed), or undefined. */
export function metricValue(text: string, sample: string): number | undefined {
  for (const line of text.split("\n")) {
    if (line.startsWith(`${sample} `)) return Number(line.slice(sample.length + 1));
  }
  return undefined;
}

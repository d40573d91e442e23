/**
 * @module server/server
 * `startServer(config)`: opens the local store (dead letters, the host table), builds and starts
 * the configured sinks (none configured: the local DuckDB store is the one sink), starts each
 * configured input on the shared intake queue and returns a handle. `close()` is the graceful
 * stop: inputs stop accepting (HTTP requests in flight still get their answer, for
 * `drainTimeout` seconds at most), the queue is delivered, the sinks and the store are closed.
 *
 * A receiver (`config.publish`, `serve --publish`) has one sink, the NATS publisher
 * (`broker/publisher.ts`), and its inputs frame without normalizing (`broker/raw.ts`): the
 * workers normalize and deliver. The local store stays: dead letters of messages NATS refused,
 * and `/healthz`; no sink can be queried, so `/api/*` answers 404.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { buildSinks, queryableStore, type PipelineSink, type SinkSpec } from "../delivery/index.ts";
import { createSinkMetrics } from "../delivery/metrics.ts";
import { HostDirectory } from "../enrich/hosts.ts";
import { stores } from "../store/index.ts";
import type { EventStore } from "../store/store.ts";
import { normalizingCollector } from "../pipeline/step.ts";
import { natsPublisher } from "../broker/publisher.ts";
import { rawCollector } from "../broker/raw.ts";
import { Intake } from "./batcher.ts";
import { StoreHealth, type StoreHealthOptions } from "./health.ts";
import { ConfigError, type ServerConfig } from "./config.ts";
import { inputs, type Input, type IntakeContext, type TlsFiles } from "./inputs/index.ts";
import { createLogger, type Logger } from "./log.ts";
import { createMetrics, type ServerMetrics } from "./metrics.ts";

export interface ServerDeps {
  /** Where logs go (default: JSON lines on stdout at `config.logLevel`). */
  readonly logger?: Logger;
  /**
   * The local store (default: DuckDB in `config.data`): dead letters and the host table, and the
   * one sink when `config.sinks` is empty. The server closes it on `close()`.
   */
  readonly store?: EventStore;
  /** Sinks built by the caller (tests), used instead of `config.sinks`; started and closed by the server. */
  readonly sinks?: readonly PipelineSink[];
  /** How the store's health is probed (tests shorten it). */
  readonly health?: StoreHealthOptions;
}

export interface ServerHandle {
  /** Bound addresses (`127.0.0.1:9580`) of the inputs that run. */
  readonly addresses: Readonly<Partial<Record<"http" | "tcp" | "udp", string>>>;
  readonly inputs: readonly Input[];
  /** The local store: dead letters, the host table (and the events when no sink is configured). */
  readonly store: EventStore;
  readonly sinks: readonly PipelineSink[];
  readonly metrics: ServerMetrics;
  readonly logger: Logger;
  /** Stop accepting, drain the queue, commit, close the store. Idempotent. */
  close(): Promise<void>;
}

function readTls(config: ServerConfig): TlsFiles | undefined {
  if (config.tlsCert === undefined || config.tlsKey === undefined) return undefined;
  const read = (flag: string, path: string): Buffer => {
    try {
      return readFileSync(path);
    } catch (err) {
      throw new ConfigError(`${flag} ${path}: ${(err as Error).message}`);
    }
  };
  return { cert: read("--tls-cert", config.tlsCert), key: read("--tls-key", config.tlsKey) };
}

/** The CA of `--tls-ca`, read at start so that a bad path is a ConfigError. */
function readClientCa(config: ServerConfig): Buffer | undefined {
  if (config.tlsCa === undefined) return undefined;
  try {
    return readFileSync(config.tlsCa);
  } catch (err) {
    throw new ConfigError(`--tls-ca ${config.tlsCa}: ${(err as Error).message}`);
  }
}

/** The sink when none is configured: the DuckDB store of the data folder (the server's local store). */
const DEFAULT_SINK: SinkSpec = { name: "duckdb", kind: "duckdb", settings: {} };

/** How often what the host directory learnt is written to the store's host table. */
const HOST_SAVE_MS = 2_000;

export async function startServer(config: ServerConfig, deps: ServerDeps = {}): Promise<ServerHandle> {
  const logger = deps.logger ?? createLogger(config.logLevel);
  const tls = readTls(config);
  const clientCa = readClientCa(config);
  const store =
    deps.store ??
    (await stores.duckdb({
      dataDir: config.data,
      ...(config.retainMs === undefined ? {} : { retainMs: config.retainMs }),
    }));
  logger.info({ store: store.name }, "store open");
  const metrics = createMetrics();
  const sinkMetrics = createSinkMetrics(metrics.registry);
  const broker = config.publish ? config.nats : undefined;
  let sinks: readonly PipelineSink[];
  try {
    if (config.publish && broker === undefined)
      throw new Error("--publish needs the NATS servers: --publish nats://HOST:4222,… or nats.servers");
    if (broker !== undefined && config.sinks.length > 0 && deps.sinks === undefined) {
      throw new Error(
        `a receiver (--publish) has no sinks of its own: its events go to NATS stream ${broker.stream}, ` +
          `and the workers (tanium-ecs worker) deliver them. Remove ${config.sinks.map((s) => s.name).join(", ")} ` +
          "(sinks, --elasticsearch, --splunk-hec) from this server's settings and give them to the workers",
      );
    }
    sinks =
      deps.sinks ??
      (broker !== undefined
        ? [
            natsPublisher(broker, {
              logger: logger.child({ sink: "nats" }),
              metrics: sinkMetrics.forSink("nats"),
            }),
          ]
        : // With no sink configured the local store is the one sink, as it always was.
          buildSinks(config.sinks.length === 0 ? [DEFAULT_SINK] : config.sinks, {
            logger,
            metrics: sinkMetrics,
            localStore: store,
            bufferDir: join(config.data, "buffer"),
          }));
  } catch (err) {
    await store.close().catch(() => {});
    throw new ConfigError((err as Error).message);
  }
  if (broker !== undefined) {
    logger.info(
      {
        servers: broker.servers,
        stream: broker.stream,
        subject: `${broker.subject}.<input>`,
        replicas: broker.replicas,
      },
      "receiver: raw events are published to NATS JetStream, acknowledged once the stream has them; workers normalize and deliver",
    );
  }
  const startedSinks: PipelineSink[] = [];
  const closeSinks = async (): Promise<void> => {
    for (const sink of startedSinks.splice(0)) {
      await sink.close().catch((err: unknown) => logger.warn({ err, sink: sink.name }, "sink close failed"));
    }
  };
  try {
    for (const sink of sinks) {
      await sink.start();
      startedSinks.push(sink);
      sink.registerMetrics?.(metrics.registry);
      logger.info({ sink: sink.name, kind: sink.kind }, "sink started");
    }
  } catch (err) {
    await closeSinks();
    await store.close().catch(() => {});
    throw err;
  }
  const intake = new Intake(sinks, store, metrics, {
    batchMax: config.batchMax,
    batchMs: config.batchMs,
    queueMax: config.queueMax,
    queueMaxBytes: config.queueMaxBytes,
  });
  // A sink over the local store fails as the store does (store_*); any other names itself.
  const watched = sinks.filter((sink) => sink.queryable !== store);
  const health = new StoreHealth(store, intake, logger, { ...deps.health, sinks: watched });
  // What inventory rows said of each host, kept by the store across restarts (`enrich/hosts.ts`).
  const hosts = new HostDirectory();
  if (store.loadHosts !== undefined) hosts.load(await store.loadHosts());
  const saveHosts = async (): Promise<void> => {
    const rows = hosts.takeChanges();
    if (rows.length === 0 || store.saveHosts === undefined) return;
    // Not part of any acknowledgement: a fact lost here comes again with the host's next inventory row.
    await store.saveHosts(rows).catch((err: unknown) => logger.warn({ err }, "host table not saved"));
  };
  const hostTimer = setInterval(() => void saveHosts(), HOST_SAVE_MS);
  hostTimer.unref();
  const context: IntakeContext = {
    intake,
    collector: broker === undefined ? normalizingCollector : rawCollector,
    metrics,
    logger,
    hosts,
    original: config.original,
  };
  let draining = false;

  // One token given serves both: senders and readers are told apart only when both are set.
  const ingestToken = config.token ?? config.queryToken;
  const queryToken = config.queryToken ?? config.token;
  if (ingestToken === undefined) logger.warn("no token: listening on loopback only");
  const started: Input[] = [];
  const addresses: Partial<Record<"http" | "tcp" | "udp", string>> = {};
  const record = (input: Input): void => {
    started.push(input);
    addresses[input.name as "http" | "tcp" | "udp"] = input.address;
    logger.info(
      {
        input: input.name,
        address: input.address,
        port: input.port,
        tls: tls !== undefined && input.name !== "udp",
      },
      "listening",
    );
  };
  try {
    if (config.http !== undefined) {
      record(
        await inputs.http(
          {
            listen: config.http,
            maxLineBytes: config.maxLineBytes,
            store: queryableStore(sinks),
            token: ingestToken,
            queryToken,
            tokenHeader: config.tokenHeader,
            api: { queryTimeoutMs: config.queryTimeout * 1000, maxExports: config.maxExports },
            tls,
            maxBodyBytes: config.maxBodyBytes,
            health,
            ...(broker === undefined
              ? {}
              : {
                  fullReason: () =>
                    `NATS stream ${broker.stream} is full (nats.max_bytes, ${broker.max_bytes} bytes): it refuses new events until it has room.`,
                }),
            draining: () => draining,
            bodyTimeoutMs: config.bodyTimeout * 1000,
            headerTimeoutMs: config.headerTimeout * 1000,
            drainTimeoutMs: config.drainTimeout * 1000,
          },
          context,
        ),
      );
    }
    if (config.tcp !== undefined) {
      record(
        await inputs.tcp(
          {
            listen: config.tcp,
            maxLineBytes: config.maxLineBytes,
            tls,
            clientCa,
            allow: config.allow,
            maxConnections: config.maxConnections,
            maxConnectionsPerSource: config.maxConnectionsPerSource,
            maxConnectionBytes: config.maxConnectionBytes,
            idleTimeoutMs: config.idleTimeout * 1000,
            drainTimeoutMs: config.drainTimeout * 1000,
          },
          context,
        ),
      );
    }
    if (config.udp !== undefined) {
      record(
        await inputs.udp(
          {
            listen: config.udp,
            maxLineBytes: config.maxLineBytes,
            receiveBuffer: config.udpReceiveBuffer,
            allow: config.allow,
          },
          context,
        ),
      );
    }
  } catch (err) {
    clearInterval(hostTimer);
    health.stop();
    for (const input of started) await input.close().catch(() => {});
    await closeSinks();
    await store.close().catch(() => {});
    throw err;
  }

  let closing: Promise<void> | undefined;
  const close = (): Promise<void> => {
    closing ??= (async () => {
      draining = true;
      logger.info({ queue_depth: intake.depth }, "stopping: no new connections, draining the queue");
      await Promise.all(started.map((input) => input.close()));
      if (broker === undefined) await intake.drain();
      else {
        // A publish waits as long as the stream is full: the stop does not. Past the drain
        // timeout the publisher is closed, its batches fail, and nothing more is acknowledged.
        const drained = intake.drain();
        let timer: NodeJS.Timeout | undefined;
        const late = await Promise.race([
          drained.then(() => false),
          new Promise<boolean>(
            (resolve) => (timer = setTimeout(() => resolve(true), config.drainTimeout * 1000)),
          ),
        ]);
        clearTimeout(timer);
        if (late) {
          logger.warn(
            { queue_depth: intake.depth },
            "drain deadline: publishes still waiting are given up (not acknowledged)",
          );
          await closeSinks();
        }
        await drained;
      }
      clearInterval(hostTimer);
      health.stop();
      await saveHosts();
      await closeSinks();
      await store.close();
      logger.info("stopped: every accepted event is committed");
    })();
    return closing;
  };
  return { addresses, inputs: started, store, sinks, metrics, logger, close };
}

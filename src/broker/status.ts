/**
 * @module broker/status
 * What an operator watches on the broker hop, as plain data (`tanium-ecs nats status`) and as
 * Prometheus gauges (each receiver's and worker's `/metrics`): the raw stream's depth and replicas,
 * the workers' consumer (lag, unacknowledged, redelivered), and the dead letters by code. Every
 * figure comes from the JetStream API (`$JS.API.STREAM.INFO`, `$JS.API.CONSUMER.INFO`), the same
 * numbers `nats stream info` and `nats consumer info` print.
 */
import {
  JetStreamApiCodes,
  JetStreamApiError,
  type JetStreamManager,
  type StreamInfo,
} from "@nats-io/jetstream";
import { millis } from "@nats-io/transport-node";
import { Counter, Gauge, type Registry } from "prom-client";
import { BrokerError } from "./connection.ts";
import type { BrokerSettings } from "./settings.ts";

/** A stream or the consumer that is not there yet: the message says who creates it. */
export interface Missing {
  readonly missing: string;
}

export function isMissing<T extends object>(part: T | Missing): part is Missing {
  return "missing" in part;
}

export interface ReplicaStatus {
  readonly name: string;
  /** Caught up with the leader. */
  readonly current: boolean;
  readonly offline: boolean;
  /** Operations behind the leader. */
  readonly lag: number;
  /** Since the leader last heard from it, ms: a node down shows here first. */
  readonly lastSeenMs: number;
}

export interface StreamStatus {
  readonly name: string;
  readonly messages: number;
  readonly bytes: number;
  readonly firstSeq: number;
  readonly lastSeq: number;
  /** ISO time of the oldest and newest message kept; undefined when empty. */
  readonly firstTime: string | undefined;
  readonly lastTime: string | undefined;
  /** Configured limits: what `bytes` and the age of `firstTime` run into. -1: no cap. */
  readonly maxBytes: number;
  readonly maxAgeMs: number;
  readonly replicas: number;
  /** The server leading the stream's replicas; undefined on a lone server, or during an election. */
  readonly leader: string | undefined;
  /** The other replicas as the leader sees them (empty on a lone server). */
  readonly followers: readonly ReplicaStatus[];
  /** Followers behind the leader, and followers the group considers offline. */
  readonly lagging: readonly string[];
  readonly offline: readonly string[];
  /** Messages by subject (`<prefix>.<input>` or `<prefix>.<code>`). */
  readonly bySubject: Readonly<Record<string, number>>;
}

export interface ConsumerStatus {
  readonly stream: string;
  readonly name: string;
  /** Messages not yet delivered to any worker: the lag. */
  readonly pending: number;
  /** Delivered and not yet acknowledged (held by workers, or waiting for their ack wait to end). */
  readonly ackPending: number;
  /** Of the unacknowledged, those delivered more than once. */
  readonly redelivered: number;
  /** Pull requests waiting for messages: workers that are idle. */
  readonly waiting: number;
  readonly delivered: { readonly consumerSeq: number; readonly streamSeq: number };
  readonly ackFloor: { readonly consumerSeq: number; readonly streamSeq: number };
  readonly ackWaitMs: number;
  readonly maxDeliver: number;
  readonly maxAckPending: number;
  readonly leader: string | undefined;
  readonly followers: readonly ReplicaStatus[];
  readonly lagging: readonly string[];
  readonly offline: readonly string[];
}

export interface DeadLetterStatus extends StreamStatus {
  /** Letters by error code (the last token of `<dead_letter_subject>.<code>`). */
  readonly byCode: Readonly<Record<string, number>>;
}

export interface BrokerStatus {
  readonly raw: StreamStatus | Missing;
  readonly consumer: ConsumerStatus | Missing;
  readonly deadLetters: DeadLetterStatus | Missing;
}

function apiCode(err: unknown): number | undefined {
  return err instanceof JetStreamApiError ? err.code : undefined;
}

/** An ISO time, or undefined for the zero time an empty stream reports. */
function time(value: string | undefined): string | undefined {
  return value === undefined || value.startsWith("0001-") ? undefined : value;
}

function replicaStatus(
  info: StreamInfo["cluster"],
): Pick<StreamStatus, "leader" | "followers" | "lagging" | "offline"> {
  const followers = (info?.replicas ?? []).map((peer) => ({
    name: peer.name,
    current: peer.current === true,
    offline: peer.offline === true,
    lag: peer.lag ?? 0,
    lastSeenMs: Math.round(millis(peer.active ?? 0)),
  }));
  return {
    leader: info?.leader === "" ? undefined : info?.leader,
    followers,
    lagging: followers.filter((peer) => !peer.current && !peer.offline).map((peer) => peer.name),
    offline: followers.filter((peer) => peer.offline).map((peer) => peer.name),
  };
}

async function streamStatus(
  jsm: JetStreamManager,
  name: string,
  subjects: string,
  createdBy: string,
): Promise<StreamStatus | Missing> {
  let info: StreamInfo;
  try {
    // subjects_filter: the per-subject counts come in the same answer (a handful of subjects).
    info = await jsm.streams.info(name, { subjects_filter: subjects });
  } catch (err) {
    if (apiCode(err) === JetStreamApiCodes.StreamNotFound)
      return { missing: `stream ${name} does not exist yet (${createdBy} creates it at start)` };
    throw err;
  }
  const { state, config } = info;
  return {
    name,
    messages: state.messages,
    bytes: state.bytes,
    firstSeq: state.first_seq,
    lastSeq: state.last_seq,
    firstTime: state.messages > 0 ? time(state.first_ts) : undefined,
    lastTime: state.messages > 0 ? time(state.last_ts) : undefined,
    maxBytes: config.max_bytes,
    maxAgeMs: millis(config.max_age),
    replicas: config.num_replicas,
    ...replicaStatus(info.cluster),
    bySubject: { ...state.subjects },
  };
}

async function consumerStatus(
  jsm: JetStreamManager,
  stream: string,
  name: string,
): Promise<ConsumerStatus | Missing> {
  try {
    const info = await jsm.consumers.info(stream, name);
    const replicas = replicaStatus(info.cluster);
    return {
      stream,
      name,
      pending: info.num_pending,
      ackPending: info.num_ack_pending,
      redelivered: info.num_redelivered,
      waiting: info.num_waiting,
      delivered: { consumerSeq: info.delivered.consumer_seq, streamSeq: info.delivered.stream_seq },
      ackFloor: { consumerSeq: info.ack_floor.consumer_seq, streamSeq: info.ack_floor.stream_seq },
      ackWaitMs: millis(info.config.ack_wait ?? 0),
      maxDeliver: info.config.max_deliver ?? -1,
      maxAckPending: info.config.max_ack_pending ?? -1,
      ...replicas,
    };
  } catch (err) {
    const code = apiCode(err);
    if (code === JetStreamApiCodes.ConsumerNotFound)
      return {
        missing: `consumer ${name} of stream ${stream} does not exist yet (a worker creates it at start)`,
      };
    if (code === JetStreamApiCodes.StreamNotFound)
      return {
        missing: `consumer ${name}: its stream ${stream} does not exist yet (a worker creates both at start)`,
      };
    throw err;
  }
}

/**
 * The raw stream, the workers' consumer and the dead-letter stream, as the cluster reports them
 * now. A part not created yet is a `Missing` naming it; any other failure (no JetStream, no
 * leader during an election, a timeout) is a `BrokerError` saying which lookup failed.
 */
export async function brokerStatus(jsm: JetStreamManager, settings: BrokerSettings): Promise<BrokerStatus> {
  const lookup = async <T>(what: string, run: () => Promise<T>): Promise<T> => {
    try {
      return await run();
    } catch (err) {
      throw new BrokerError(`nats status: cannot read ${what}: ${(err as Error).message}`, { cause: err });
    }
  };
  const [raw, consumer, dead] = await Promise.all([
    lookup(`stream ${settings.stream}`, () =>
      streamStatus(jsm, settings.stream, `${settings.subject}.>`, "a receiver or a worker"),
    ),
    lookup(`consumer ${settings.consumer}`, () => consumerStatus(jsm, settings.stream, settings.consumer)),
    lookup(`stream ${settings.dead_letter_stream}`, () =>
      streamStatus(jsm, settings.dead_letter_stream, `${settings.dead_letter_subject}.>`, "a worker"),
    ),
  ]);
  const prefix = `${settings.dead_letter_subject}.`;
  const deadLetters: DeadLetterStatus | Missing = isMissing(dead)
    ? dead
    : {
        ...dead,
        byCode: Object.fromEntries(
          Object.entries(dead.bySubject).map(([subject, count]) => [
            subject.startsWith(prefix) ? subject.slice(prefix.length) : subject,
            count,
          ]),
        ),
      };
  return { raw, consumer, deadLetters };
}

export interface BrokerMetricsOptions {
  /** A lookup slower than this counts as failed, so a scrape during an election is not held (default 3 s). */
  readonly timeoutMs?: number;
  /** A lookup also serves the scrapes within this long after it (default 1 s). */
  readonly cacheMs?: number;
}

export interface BrokerMetrics {
  /** Lookups that failed or timed out; their scrape left the broker gauges without samples. */
  readonly failures: Counter;
}

/**
 * The broker's figures as gauges in `registry`, read at each scrape (prom-client's async
 * `collect`). A failed lookup leaves them without samples, so a dashboard sees a gap rather than
 * a stale or zero depth, and counts `tanium_ecs_nats_status_failures_total`; `/metrics` itself
 * still answers.
 */
export function registerBrokerMetrics(
  registry: Registry,
  jsm: JetStreamManager,
  settings: BrokerSettings,
  options: BrokerMetricsOptions = {},
): BrokerMetrics {
  const timeoutMs = options.timeoutMs ?? 3000;
  const cacheMs = options.cacheMs ?? 1000;
  const registers = [registry];
  const failures = new Counter({
    name: "tanium_ecs_nats_status_failures_total",
    help: "Lookups of the NATS stream and consumer figures that failed or timed out (their gauges were left without samples).",
    registers,
    // The count includes the lookup of this very scrape.
    async collect() {
      await current();
    },
  });
  // prom-client collects every metric of a scrape at once: they share one lookup.
  let cached: { status: Promise<BrokerStatus | undefined>; settledAt: number | undefined } | undefined;
  const current = (): Promise<BrokerStatus | undefined> => {
    if (cached !== undefined && (cached.settledAt === undefined || Date.now() - cached.settledAt < cacheMs))
      return cached.status;
    const entry: { status: Promise<BrokerStatus | undefined>; settledAt: number | undefined } = {
      status: Promise.resolve(undefined),
      settledAt: undefined,
    };
    entry.status = (async (): Promise<BrokerStatus | undefined> => {
      let timer: NodeJS.Timeout | undefined;
      try {
        return await Promise.race([
          brokerStatus(jsm, settings),
          new Promise<never>((_, reject) => {
            timer = setTimeout(() => reject(new Error("timed out")), timeoutMs);
          }),
        ]);
      } catch {
        failures.inc();
        return undefined;
      } finally {
        clearTimeout(timer);
        entry.settledAt = Date.now();
      }
    })();
    cached = entry;
    return entry.status;
  };

  const streamGauge = (
    name: string,
    help: string,
    value: (stream: StreamStatus) => number,
  ): Gauge<"stream"> =>
    new Gauge({
      name,
      help,
      labelNames: ["stream"],
      registers,
      async collect() {
        this.reset();
        const status = await current();
        if (status === undefined) return;
        for (const stream of [status.raw, status.deadLetters])
          if (!isMissing(stream)) this.set({ stream: stream.name }, value(stream));
      },
    });
  const consumerGauge = (
    name: string,
    help: string,
    value: (consumer: ConsumerStatus) => number,
  ): Gauge<"stream" | "consumer"> =>
    new Gauge({
      name,
      help,
      labelNames: ["stream", "consumer"],
      registers,
      async collect() {
        this.reset();
        const status = await current();
        if (status === undefined || isMissing(status.consumer)) return;
        this.set({ stream: status.consumer.stream, consumer: status.consumer.name }, value(status.consumer));
      },
    });

  streamGauge(
    "tanium_ecs_nats_stream_messages",
    "Messages kept in the stream (raw and dead-letter).",
    (s) => s.messages,
  );
  streamGauge(
    "tanium_ecs_nats_stream_bytes",
    "Bytes kept in the stream; the raw stream refuses publishes (HTTP 503) at its max_bytes.",
    (s) => s.bytes,
  );
  streamGauge(
    "tanium_ecs_nats_stream_max_bytes",
    "The stream's configured max_bytes (-1: no cap), to compare tanium_ecs_nats_stream_bytes with.",
    (s) => s.maxBytes,
  );
  consumerGauge(
    "tanium_ecs_nats_consumer_pending",
    "Messages of the raw stream not yet delivered to any worker (the consumer's lag).",
    (c) => c.pending,
  );
  consumerGauge(
    "tanium_ecs_nats_consumer_ack_pending",
    "Messages delivered to workers and not yet acknowledged.",
    (c) => c.ackPending,
  );
  consumerGauge(
    "tanium_ecs_nats_consumer_redelivered",
    "Unacknowledged messages that were delivered more than once (a worker lost, a sink failing, an ack wait too short).",
    (c) => c.redelivered,
  );
  new Gauge({
    name: "tanium_ecs_nats_dead_letters",
    help: "Letters kept in the dead-letter stream, by error code.",
    labelNames: ["stream", "code"],
    registers,
    async collect() {
      this.reset();
      const status = await current();
      if (status === undefined || isMissing(status.deadLetters)) return;
      for (const [code, count] of Object.entries(status.deadLetters.byCode))
        this.set({ stream: status.deadLetters.name, code }, count);
    },
  });
  return { failures };
}

/**
 * @module broker/topology
 * The raw stream, the dead-letter stream and the workers' durable consumer: created at start when
 * missing, checked when present. A difference from the configuration is an error naming every
 * field that differs, never a silent update: a stream holds other hosts' unread events, and
 * changing its replicas or limits is the operator's decision (`nats stream edit`).
 */
import {
  AckPolicy,
  DeliverPolicy,
  DiscardPolicy,
  JetStreamApiError,
  RetentionPolicy,
  StorageType,
  type ConsumerConfig,
  type ConsumerInfo,
  type JetStreamManager,
  type StreamConfig,
  type StreamInfo,
} from "@nats-io/jetstream";
import { millis, nanos } from "@nats-io/transport-node";
import { BrokerError, electing, retryDuringElection } from "./connection.ts";
import type { BrokerSettings } from "./settings.ts";

const STREAM_NOT_FOUND = 10059;
const CONSUMER_NOT_FOUND = 10014;
/** "stream name already in use with a different configuration": another process created it first. */
const STREAM_NAME_IN_USE = 10058;
/** "replicas > 1 not supported in non-clustered mode", "insufficient resources". */
const NOT_CLUSTERED = 10074;
const INSUFFICIENT_RESOURCES = 10023;

/** The stream or consumer differs from the configuration, or cannot be made as configured. */
export class TopologyError extends BrokerError {
  override name = "TopologyError";
}

export interface StreamSpec {
  readonly name: string;
  readonly subjects: readonly string[];
  readonly replicas: number;
  readonly maxAgeMs: number;
  /** -1: no cap. */
  readonly maxBytes: number;
  readonly duplicateWindowMs: number;
}

/** The raw stream: `<subject>.<input>` for every input. */
export function rawStreamSpec(settings: BrokerSettings): StreamSpec {
  return {
    name: settings.stream,
    subjects: [`${settings.subject}.>`],
    replicas: settings.replicas,
    maxAgeMs: settings.max_age,
    maxBytes: settings.max_bytes,
    duplicateWindowMs: settings.duplicate_window,
  };
}

/** The dead-letter stream: `<dead_letter_subject>.<code>`, kept longer, no size cap of its own. */
export function deadLetterStreamSpec(settings: BrokerSettings): StreamSpec {
  return {
    name: settings.dead_letter_stream,
    subjects: [`${settings.dead_letter_subject}.>`],
    replicas: settings.replicas,
    maxAgeMs: settings.dead_letter_max_age,
    maxBytes: -1,
    duplicateWindowMs: settings.duplicate_window,
  };
}

function streamConfig(spec: StreamSpec): Partial<StreamConfig> & { name: string } {
  return {
    name: spec.name,
    subjects: [...spec.subjects],
    // Limits, never WorkQueue: see broker/settings.
    retention: RetentionPolicy.Limits,
    storage: StorageType.File,
    num_replicas: spec.replicas,
    max_age: nanos(spec.maxAgeMs),
    max_bytes: spec.maxBytes,
    discard: DiscardPolicy.New,
    duplicate_window: nanos(spec.duplicateWindowMs),
  };
}

/** Every field of a present stream that differs from `spec`, in words. */
export function streamDifferences(config: StreamConfig, spec: StreamSpec): string[] {
  const wanted = streamConfig(spec);
  const out: string[] = [];
  const differ = (field: string, have: unknown, want: unknown): void => {
    if (JSON.stringify(have) !== JSON.stringify(want))
      out.push(`${field} is ${JSON.stringify(have)}, the configuration says ${JSON.stringify(want)}`);
  };
  differ("subjects", [...(config.subjects ?? [])].sort(), [...spec.subjects].sort());
  differ("retention", config.retention, wanted.retention);
  differ("storage", config.storage, wanted.storage);
  differ("replicas", config.num_replicas, spec.replicas);
  differ("max_age", `${millis(config.max_age)}ms`, `${spec.maxAgeMs}ms`);
  differ("max_bytes", config.max_bytes, spec.maxBytes);
  differ("discard", config.discard, wanted.discard);
  differ("duplicate_window", `${millis(config.duplicate_window)}ms`, `${spec.duplicateWindowMs}ms`);
  return out;
}

function apiCode(err: unknown): number | undefined {
  return err instanceof JetStreamApiError ? err.code : undefined;
}

/** Creates the stream when missing; checks it when present. Returns its info. */
export async function ensureStream(jsm: JetStreamManager, spec: StreamSpec): Promise<StreamInfo> {
  const check = (info: StreamInfo): StreamInfo => {
    const diffs = streamDifferences(info.config, spec);
    if (diffs.length > 0) {
      throw new TopologyError(
        `stream ${spec.name} differs from the configuration: ${diffs.join("; ")}. ` +
          "Change the nats settings to match, or change the stream (nats stream edit) if that is what you meant",
      );
    }
    return info;
  };
  try {
    return check(await jsm.streams.info(spec.name));
  } catch (err) {
    if (apiCode(err) !== STREAM_NOT_FOUND) throw err;
  }
  try {
    return await jsm.streams.add(streamConfig(spec));
  } catch (err) {
    const code = apiCode(err);
    // Another receiver or worker created it between our look and our add: check theirs.
    if (code === STREAM_NAME_IN_USE) return check(await jsm.streams.info(spec.name));
    if (code === NOT_CLUSTERED || code === INSUFFICIENT_RESOURCES) {
      throw new TopologyError(
        `stream ${spec.name} cannot have ${spec.replicas} replicas here: ${(err as Error).message} ` +
          "(a single nats-server or a smaller cluster: set nats.replicas to 1, or to the cluster's size)",
        { cause: err },
      );
    }
    const message = (err as Error).message;
    if (/insufficient storage/i.test(message)) {
      throw new TopologyError(
        `stream ${spec.name} cannot be placed: ${message} (its max_bytes, ${spec.maxBytes} bytes, is more than ` +
          "the servers' JetStream storage, max_file_store: lower nats.max_bytes or give the servers more)",
        { cause: err },
      );
    }
    throw new TopologyError(`stream ${spec.name} could not be created: ${message}`, {
      cause: err,
    });
  }
}

export interface ConsumerSpec {
  readonly stream: string;
  readonly name: string;
  readonly filterSubject: string;
  readonly ackWaitMs: number;
  readonly maxDeliver: number;
  readonly maxAckPending: number;
}

export function workerConsumerSpec(settings: BrokerSettings): ConsumerSpec {
  return {
    stream: settings.stream,
    name: settings.consumer,
    filterSubject: `${settings.subject}.>`,
    ackWaitMs: settings.ack_wait,
    maxDeliver: settings.max_deliver,
    maxAckPending: settings.max_ack_pending,
  };
}

function consumerConfig(spec: ConsumerSpec): Partial<ConsumerConfig> {
  return {
    durable_name: spec.name,
    ack_policy: AckPolicy.Explicit,
    deliver_policy: DeliverPolicy.All,
    filter_subject: spec.filterSubject,
    ack_wait: nanos(spec.ackWaitMs),
    max_deliver: spec.maxDeliver,
    max_ack_pending: spec.maxAckPending,
  };
}

export function consumerDifferences(config: ConsumerConfig, spec: ConsumerSpec): string[] {
  const out: string[] = [];
  const differ = (field: string, have: unknown, want: unknown): void => {
    if (JSON.stringify(have) !== JSON.stringify(want))
      out.push(`${field} is ${JSON.stringify(have)}, the configuration says ${JSON.stringify(want)}`);
  };
  differ("ack_policy", config.ack_policy, AckPolicy.Explicit);
  differ("filter_subject", config.filter_subject ?? "", spec.filterSubject);
  differ("ack_wait", `${millis(config.ack_wait ?? 0)}ms`, `${spec.ackWaitMs}ms`);
  differ("max_deliver", config.max_deliver, spec.maxDeliver);
  differ("max_ack_pending", config.max_ack_pending, spec.maxAckPending);
  if (config.deliver_subject !== undefined && config.deliver_subject !== "")
    out.push("it is a push consumer (deliver_subject set); the workers need a pull consumer");
  return out;
}

/** Creates the durable pull consumer when missing; checks it when present. */
export async function ensureConsumer(jsm: JetStreamManager, spec: ConsumerSpec): Promise<ConsumerInfo> {
  const check = (info: ConsumerInfo): ConsumerInfo => {
    const diffs = consumerDifferences(info.config, spec);
    if (diffs.length > 0) {
      throw new TopologyError(
        `consumer ${spec.name} of stream ${spec.stream} differs from the configuration: ${diffs.join("; ")}. ` +
          "Change the nats settings to match, or delete the consumer (nats consumer rm) to have it made anew",
      );
    }
    return info;
  };
  try {
    return check(await jsm.consumers.info(spec.stream, spec.name));
  } catch (err) {
    if (apiCode(err) !== CONSUMER_NOT_FOUND) throw err;
  }
  try {
    return check(await jsm.consumers.add(spec.stream, consumerConfig(spec)));
  } catch (err) {
    if (err instanceof TopologyError) throw err;
    throw new TopologyError(
      `consumer ${spec.name} of stream ${spec.stream} could not be created: ${(err as Error).message}`,
      { cause: err },
    );
  }
}

/**
 * What may pass by itself while the topology is set up: an election (see `electing`), or no
 * answer at all (no responders) while no meta leader is elected; never a difference of ours.
 */
function passing(err: unknown): boolean {
  if (err instanceof TopologyError) return false;
  const name = err instanceof Error ? err.constructor.name : "";
  return electing(err) || name === "NoRespondersError" || name === "JetStreamNotEnabled";
}

/** What a receiver needs: the raw stream. */
export async function ensureReceiverTopology(
  jsm: JetStreamManager,
  settings: BrokerSettings,
  withinMs = 30_000,
): Promise<void> {
  await retryDuringElection(
    async () => {
      await ensureStream(jsm, rawStreamSpec(settings));
    },
    withinMs,
    passing,
  );
}

/** What a worker needs: the raw stream, the dead-letter stream, and the shared consumer. */
export async function ensureWorkerTopology(
  jsm: JetStreamManager,
  settings: BrokerSettings,
  withinMs = 30_000,
): Promise<void> {
  await retryDuringElection(
    async () => {
      await ensureStream(jsm, rawStreamSpec(settings));
      await ensureStream(jsm, deadLetterStreamSpec(settings));
      await ensureConsumer(jsm, workerConsumerSpec(settings));
    },
    withinMs,
    passing,
  );
}

/**
 * @module delivery/sink
 * What every event sink is: a named destination that settles each event of a batch it is given,
 * in the manner of Vector's end-to-end acknowledgements. A settlement is final: `delivered`
 * (stored), `duplicate` (already there: a redelivery of the same `event.id`), or `rejected` with
 * the destination's reason (a permanent refusal, such as a mapping error: the event becomes a
 * dead letter, never retried forever, never dropped). A failure that may pass (a 429, a 5xx, a
 * timeout, a lost connection) is not a settlement: the sink retries it (only the events it
 * concerns) with backoff, and `deliver` resolves once every event is settled. A batch is
 * acknowledged to its sender once every sink has settled every event in it.
 *
 * Sink kinds are nouns with a factory each and one registry (`delivery/index.ts`); the pipeline
 * never names a kind.
 */
import type { Logger } from "pino";
import type { ErrorCode } from "../errors.ts";
import type { OutEvent } from "./event.ts";
import type { SinkMetrics } from "./metrics.ts";

export type Settlement =
  | { readonly status: "delivered" }
  | { readonly status: "duplicate" }
  | { readonly status: "rejected"; readonly reason: string };

export const DELIVERED: Settlement = Object.freeze({ status: "delivered" });
export const DUPLICATE: Settlement = Object.freeze({ status: "duplicate" });

/** The dead-letter code of a document a sink refused for good (the sink's reason in the message). */
export const SINK_REJECTED = "ERR_SINK_REJECTED" satisfies ErrorCode;

/** The dead letter's message for a document sink `name` refused: the same words wherever it is found. */
export function sinkRejection(name: string, reason: string): string {
  return `sink ${name} rejected the document: ${reason}`;
}

export function rejected(reason: string): Settlement {
  return { status: "rejected", reason };
}

/** What a sink says of itself, for /healthz and the log. */
export interface SinkHealth {
  /** False while its last attempts failed (retries under way). */
  readonly ok: boolean;
  /** When the current run of failures began (ms since the epoch). */
  readonly failingSince?: number;
  /** The last failure, in words (no secret: no token, no key). */
  readonly lastError?: string;
}

/**
 * A sink that cannot deliver: refused at start (unreachable, 401, not the product asked for, a
 * version it does not support) or given up on (`deliver` past its retry deadline, or closed).
 * The message says what is wrong in words a user can act on.
 */
export class SinkError extends Error {
  readonly code: string;
  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "SinkError";
    this.code = code;
  }
}

export interface EventSink {
  /** The configured name (`es`, `splunk`, …), in metrics labels, logs and dead letters. */
  readonly name: string;
  /** The registry key (`elasticsearch`, `splunk_hec`, `duckdb`, `file`, `null`…). */
  readonly kind: string;
  /**
   * Called once before any `deliver`: checks the destination (reachable, credentials accepted,
   * the right product and version) and prepares it (templates, when asked). Throws `SinkError`.
   */
  start(): Promise<void>;
  /**
   * Settles every event, in order: resolves with one settlement per event (same index). Retries
   * what may pass until every event is settled; rejects (`SinkError`) only when `signal` aborts,
   * the sink is closed, or its retry deadline (if it has one) passes. Never resolves with an event
   * unsettled.
   */
  deliver(events: readonly OutEvent[], signal?: AbortSignal): Promise<Settlement[]>;
  health(): SinkHealth;
  /** Stops retrying, waits for requests in flight (bounded), releases connections. */
  close(): Promise<void>;
}

/** What every sink is given besides its own settings. */
export interface SinkContext {
  readonly logger: Logger;
  /** Counters of this sink, already labelled with its name. */
  readonly metrics: SinkMetrics;
}

/** Each sink kind is built by one factory: its settings (validated by its schema) and the context. */
export type SinkFactory<Settings> = (name: string, settings: Settings, context: SinkContext) => EventSink;

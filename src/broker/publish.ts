/**
 * @module broker/publish
 * One JetStream publish, retried until it is acknowledged, for the receiver's raw events and the
 * workers' dead letters alike. The ack comes after the stream's replicas wrote the message (R3:
 * a quorum of two), so an acknowledged publish survives the loss of one node. During a leader
 * election (about 4 s here when the stream leader was killed) publishes fail with "no
 * responders" or time out: they are resent with the same `Nats-Msg-Id`, so a publish whose ack
 * was lost is stored once, with capped exponential backoff (a fixed 100 ms retry with 500 in
 * flight made 15,000 to 31,000 retries in one election here).
 */
import type { MsgHdrs } from "@nats-io/transport-node";
import { JetStreamApiError, type JetStreamClient, type PubAck } from "@nats-io/jetstream";
import { setTimeout as sleep } from "node:timers/promises";
import { backoffDelay } from "../delivery/backoff.ts";

/** JetStream's codes for a stream at its limits under `discard: new` (max_bytes, max_msgs, per subject). */
const STREAM_FULL_CODES: ReadonlySet<number> = new Set([10077, 10078, 10198]);
/** "message size exceeds maximum allowed": the stream's max_msg_size. */
const TOO_LARGE_CODES: ReadonlySet<number> = new Set([10054]);

export type PublishFailure =
  /** Try again: no leader, a timeout, a node lost, the connection reconnecting. */
  | { readonly kind: "transient"; readonly message: string }
  /** The stream is at its size cap (`discard: new`): intake must push back until it has room. */
  | { readonly kind: "full"; readonly message: string }
  /** Never accepted as it is (too large for the server's max_payload or the stream's max_msg_size). */
  | { readonly kind: "refused"; readonly message: string }
  /** The connection is closed or draining: this process is stopping. */
  | { readonly kind: "closed"; readonly message: string };

export function classifyPublishError(err: unknown): PublishFailure {
  const message = err instanceof Error ? err.message : String(err);
  if (err instanceof JetStreamApiError) {
    if (STREAM_FULL_CODES.has(err.code)) return { kind: "full", message };
    if (TOO_LARGE_CODES.has(err.code)) return { kind: "refused", message };
    return { kind: "transient", message };
  }
  const name = err instanceof Error ? err.constructor.name : "";
  if (name === "InvalidArgumentError" && /max_payload/i.test(message)) return { kind: "refused", message };
  if (name === "ClosedConnectionError" || name === "DrainingConnectionError")
    return { kind: "closed", message };
  return { kind: "transient", message };
}

export interface PublishOptions {
  readonly msgID: string;
  readonly headers?: MsgHdrs;
  /** Give up (throw the last failure) once this instant (ms since the epoch) has passed. */
  readonly deadline: number;
  readonly signal?: AbortSignal;
  /** Wait for each ack at most this long (default 5 s); a timeout is retried. */
  readonly ackTimeoutMs?: number;
  /** Called before each wait: what failed and for how long we wait. */
  readonly onRetry?: (failure: PublishFailure, attempt: number, waitMs: number) => void;
  /** Called after a success that followed failures. */
  readonly onRecovered?: () => void;
}

/** The publish failed for good, or its deadline passed; `failure` says how. */
export class PublishError extends Error {
  override name = "PublishError";
  readonly failure: PublishFailure;
  constructor(failure: PublishFailure, options?: { cause?: unknown }) {
    super(failure.message, options);
    this.failure = failure;
  }
}

/**
 * Publishes until acknowledged (`duplicate` in the ack: the stream had that id already). Throws
 * `PublishError` when the message is refused for good, the connection is closed, `signal`
 * aborts, or `deadline` passes with the publish still failing.
 */
export async function publishRetrying(
  js: JetStreamClient,
  subject: string,
  data: string | Uint8Array,
  options: PublishOptions,
): Promise<PubAck> {
  for (let attempt = 0; ; attempt++) {
    try {
      const ack = await js.publish(subject, data, {
        msgID: options.msgID,
        timeout: options.ackTimeoutMs ?? 5000,
        ...(options.headers === undefined ? {} : { headers: options.headers }),
      });
      if (attempt > 0) options.onRecovered?.();
      return ack;
    } catch (err) {
      const failure = classifyPublishError(err);
      if (failure.kind === "refused" || failure.kind === "closed")
        throw new PublishError(failure, { cause: err });
      const wait = backoffDelay(attempt, { baseMs: 50, capMs: 2000 });
      if (options.signal?.aborted === true || Date.now() + wait > options.deadline) {
        throw new PublishError(failure, { cause: err });
      }
      options.onRetry?.(failure, attempt, wait);
      await sleep(wait, undefined, options.signal === undefined ? {} : { signal: options.signal }).catch(
        () => {},
      );
      // The wait may have ended by the abort: the deadline check of the next round decides.
      if (isAborted(options.signal)) throw new PublishError(failure, { cause: err });
    }
  }
}

/** Read anew each time (TypeScript narrows `signal.aborted` across an await as if it could not change). */
function isAborted(signal: AbortSignal | undefined): boolean {
  return signal?.aborted === true;
}

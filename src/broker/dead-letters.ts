/**
 * @module broker/dead-letters
 * The worker's dead letters: each row goes to the dead-letter stream (`<dead_letter_subject>.<code>`)
 * as its own message, and `write` resolves only once JetStream acknowledged every one of them
 * (after the stream's replicas wrote it), so the intake's promise, and the ack of the raw message
 * that follows it, mean "the dead letter is in the stream". A publish that fails during a leader
 * election is retried with the same `Nats-Msg-Id` (`broker/publish.ts`) until `publish_timeout`;
 * past it `write` rejects and the raw messages are redelivered later instead of being lost.
 */
import type { JetStreamClient, PubAck } from "@nats-io/jetstream";
import type { Logger } from "pino";
import type { DeadLetterWriter } from "../server/batcher.ts";
import type { DeadLetterRow, StoreBatch, WriteResult } from "../store/store.ts";
import { encodeDeadLetter } from "./message.ts";
import { PublishError, publishRetrying } from "./publish.ts";
import type { BrokerSettings } from "./settings.ts";

/** A dead letter could not be put in the dead-letter stream (its raw message stays unacknowledged). */
export class DeadLetterError extends Error {
  override name = "DeadLetterError";
}

export interface DeadLetterPublisherOptions {
  readonly js: JetStreamClient;
  readonly settings: BrokerSettings;
  readonly logger?: Logger;
  /** How long one letter may be retried, ms (default `settings.publish_timeout`). */
  readonly timeoutMs?: number;
  /** Aborts the retries (the worker stopping for good). */
  readonly signal?: AbortSignal;
}

export class DeadLetterPublisher implements DeadLetterWriter {
  readonly #options: DeadLetterPublisherOptions;
  /** Letters published, and those the stream already had (a redelivery's letter). */
  published = 0;
  duplicates = 0;

  constructor(options: DeadLetterPublisherOptions) {
    this.#options = options;
  }

  /** Publishes every row; resolves once each is in the stream, rejects when one cannot be. */
  async write(batch: StoreBatch): Promise<WriteResult> {
    const rows = batch.deadLetters;
    // Every publish runs to its end before `write` settles, so none is left retrying unobserved.
    const outcomes = await Promise.allSettled(rows.map((row) => this.publish(row)));
    const failed = outcomes.find((o): o is PromiseRejectedResult => o.status === "rejected");
    if (failed !== undefined) throw failed.reason;
    return { inserted: 0, duplicates: 0, deadLetters: rows.length };
  }

  /**
   * One letter. Its `Nats-Msg-Id` is the id by content (`encodeDeadLetter`: its code and
   * original), or what `msgId` makes of it (the worker: the raw message's sequence added).
   */
  async publish(row: DeadLetterRow, msgId?: (byContent: string) => string): Promise<PubAck> {
    const { js, settings, logger, signal } = this.#options;
    const encoded = encodeDeadLetter(row, settings.dead_letter_subject);
    const id = msgId?.(encoded.msgId) ?? encoded.msgId;
    try {
      const ack = await publishRetrying(js, encoded.subject, encoded.data, {
        msgID: id,
        headers: encoded.headers,
        deadline: Date.now() + (this.#options.timeoutMs ?? settings.publish_timeout),
        ...(signal === undefined ? {} : { signal }),
        onRetry: (failure, attempt, waitMs) => {
          if (attempt === 0)
            logger?.warn(
              { stream: settings.dead_letter_stream, failure: failure.kind, reason: failure.message, waitMs },
              "dead letter not yet accepted by the dead-letter stream: retrying",
            );
        },
      });
      if (ack.duplicate) this.duplicates++;
      else this.published++;
      return ack;
    } catch (err) {
      const reason = err instanceof PublishError ? `${err.failure.kind}: ${err.message}` : String(err);
      throw new DeadLetterError(
        `dead letter ${row.code} not stored in stream ${settings.dead_letter_stream}: ${reason}`,
        { cause: err },
      );
    }
  }
}

/**
 * @module server/prepare
 * Frames to what the store takes: each frame normalized (on the receiving thread, as it arrives)
 * into a document or a dead-letter row. Every frame becomes exactly one of the two: nothing is
 * dropped silently. The code does not look at the event's shape: `normalize` decides.
 */
import type { ErrorCode } from "../errors.ts";
import type { Frame } from "../framing/index.ts";
import { normalize } from "../normalize.ts";
import { oversizeError } from "../pipeline/process.ts";
import { storedDoc, type DeadLetterRow, type StoredDoc } from "../store/store.ts";

/** What one sender handed over at once (an HTTP body, a TCP read, a datagram), ready to store. */
export interface Submission {
  /** Serialized at once (see `StoredDoc`): no document object waits in the queue. */
  readonly docs: StoredDoc[];
  readonly deadLetters: DeadLetterRow[];
  /** Bytes of the received text: what the queue's byte cap counts. */
  readonly bytes: number;
  /** Unmapped Tanium `fields` keys, summed (for the metric). */
  readonly unmappedKeys: number;
}

export interface PrepareOptions {
  /** The input's name on dead letters: `http`, `tcp:<remote>`, `udp:<remote>`. */
  readonly input: string;
  /** ISO-8601 receive time, stamped on every document and dead letter. */
  readonly receivedAt: string;
  readonly maxLineBytes: number;
  /**
   * The dead-letter code of an `error` frame: `ERR_JSON_SYNTAX` for a broken JSON array,
   * `ERR_FRAMING` for a bad octet-counting prefix (a server-side code: the line never reached
   * `normalize`, so none of its codes applies).
   */
  readonly errorCode?: ErrorCode;
}

export function emptySubmission(): Submission {
  return { docs: [], deadLetters: [], bytes: 0, unmappedKeys: 0 };
}

export function prepare(frames: readonly Frame[], options: PrepareOptions): Submission {
  const docs: StoredDoc[] = [];
  const deadLetters: DeadLetterRow[] = [];
  let bytes = 0;
  let unmappedKeys = 0;
  const { input, receivedAt, maxLineBytes } = options;
  for (const frame of frames) {
    if (frame.kind === "line") {
      // UTF-16 length: close enough to the bytes for a memory cap, without encoding each line.
      bytes += frame.text.length;
      const result = normalize(frame.text, { receivedAt, maxBytes: maxLineBytes });
      if (result.ok) {
        docs.push(storedDoc(result.doc));
        unmappedKeys += result.unmapped.length;
      } else {
        deadLetters.push({
          code: result.error.code,
          message: result.error.message,
          original: frame.text,
          input,
          receivedAt,
        });
      }
    } else if (frame.kind === "oversize") {
      bytes += frame.head.length;
      const error = oversizeError(frame, maxLineBytes);
      deadLetters.push({
        code: error.code,
        message: error.message,
        original: frame.head,
        input,
        receivedAt,
      });
    } else {
      bytes += frame.text.length;
      deadLetters.push({
        code: options.errorCode ?? "ERR_JSON_SYNTAX",
        message: frame.message,
        original: frame.text,
        input,
        receivedAt,
      });
    }
  }
  return { docs, deadLetters, bytes, unmappedKeys };
}

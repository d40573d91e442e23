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

/** What one sender handed over at once (an HTTP body slice, a TCP read, a datagram), ready to store. */
export interface Submission {
  /** Serialized at once (see `StoredDoc`): no document object waits in the queue. */
  readonly docs: StoredDoc[];
  /** One row per distinct text, its `count` saying how many frames carried it. */
  readonly deadLetters: DeadLetterRow[];
  /** Frames this stands for (every frame counts against the queue, repeats included). */
  readonly frames: number;
  /**
   * What the queue's byte cap counts: the text held until the commit (documents' JSON, dead
   * letters' original and message; a repeat holds nothing new). UTF-16 length: close enough to
   * the bytes for a memory cap, without encoding each string.
   */
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
  return { docs: [], deadLetters: [], frames: 0, bytes: 0, unmappedKeys: 0 };
}

/** Dead letters a submission stands for, repeats included. */
export function deadLetterCount(submission: Pick<Submission, "deadLetters">): number {
  let n = 0;
  for (const row of submission.deadLetters) n += row.count ?? 1;
  return n;
}

/**
 * Normalizes `frames`. A text seen before in the same call is not normalized again (one receive
 * time, so the same result): a repeated dead letter adds to the count of its one row, so a flood
 * of one junk line costs one row, not one object per line; a repeated document is the same
 * `StoredDoc` again (the store keeps one per `event.id`, and the sender is told all were accepted).
 */
export function prepare(frames: readonly Frame[], options: PrepareOptions): Submission {
  const docs: StoredDoc[] = [];
  const deadLetters: DeadLetterRow[] = [];
  // Repeat counts by index into `deadLetters`, applied once at the end (rows are immutable).
  const counts: number[] = [];
  const seen = new Map<string, { doc: StoredDoc; unmapped: number } | number>();
  let bytes = 0;
  let unmappedKeys = 0;
  const { input, receivedAt, maxLineBytes } = options;
  const dead = (code: string, message: string, original: string): void => {
    bytes += original.length + message.length;
    deadLetters.push({ code, message, original, input, receivedAt });
    counts.push(1);
  };
  const repeat = (key: string): boolean => {
    const before = seen.get(key);
    if (before === undefined) return false;
    if (typeof before === "number") counts[before]!++;
    else {
      docs.push(before.doc);
      unmappedKeys += before.unmapped;
    }
    return true;
  };
  for (const frame of frames) {
    if (frame.kind === "line") {
      // Keys: `l:` a line's text, `e:` a framing error's code and text (never the same key).
      const key = `l:${frame.text}`;
      if (repeat(key)) continue;
      const result = normalize(frame.text, { receivedAt, maxBytes: maxLineBytes });
      if (result.ok) {
        const doc = storedDoc(result.doc);
        bytes += doc.json.length;
        docs.push(doc);
        unmappedKeys += result.unmapped.length;
        seen.set(key, { doc, unmapped: result.unmapped.length });
      } else {
        dead(result.error.code, result.error.message, frame.text);
        seen.set(key, deadLetters.length - 1);
      }
    } else if (frame.kind === "oversize") {
      const error = oversizeError(frame, maxLineBytes);
      const key = `e:${error.code}:${frame.head}`;
      if (!repeat(key)) {
        seen.set(key, deadLetters.length);
        dead(error.code, error.message, frame.head);
      }
    } else {
      const code = options.errorCode ?? "ERR_JSON_SYNTAX";
      const key = `e:${code}:${frame.text}`;
      if (!repeat(key)) {
        seen.set(key, deadLetters.length);
        dead(code, frame.message, frame.text);
      }
    }
  }
  for (let i = 0; i < deadLetters.length; i++) {
    if (counts[i]! > 1) deadLetters[i] = { ...deadLetters[i]!, count: counts[i]! };
  }
  return { docs, deadLetters, frames: frames.length, bytes, unmappedKeys };
}

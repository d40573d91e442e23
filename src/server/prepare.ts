/**
 * @module server/prepare
 * Frames to what the store takes: each frame normalized (on the receiving thread, as it arrives)
 * into a document or a dead-letter row. Every frame becomes exactly one of the two: nothing is
 * dropped silently. The code does not look at the event's shape: `normalize` decides.
 */
import type { ErrorCode } from "../errors.ts";
import type { Frame } from "../framing/index.ts";
import type { HostDirectory } from "../enrich/hosts.ts";
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
  /**
   * The host-enrichment stage after `normalize`: inventory documents teach it each host's OS,
   * recorder documents of a known host get `host.os.*` from it (`enrich/hosts.ts`).
   */
  readonly hosts?: HostDirectory;
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
 * Normalizes frames one at a time into a submission. A text seen before in the same submission
 * is not normalized again (one receive time, so the same result): a repeated dead letter adds to
 * the count of its one row, so a flood of one junk line costs one row, not one object per line; a
 * repeated document is the same `StoredDoc` again (the store keeps one per `event.id`, and the
 * sender is told all were accepted). `normalized`, `frames` and `bytes` tell the caller when to
 * `take` a slice: the work and the memory of one grow with them.
 */
export class SubmissionBuilder {
  readonly #options: PrepareOptions;
  #docs: StoredDoc[] = [];
  #deadLetters: DeadLetterRow[] = [];
  /** Repeat counts by index into `#deadLetters`, applied by `take` (rows are immutable). */
  #counts: number[] = [];
  /** Results by line text, and dead-letter rows of framing errors by code and text. */
  #seenLines = new Map<string, { doc: StoredDoc; unmapped: number } | number>();
  #seenErrors = new Map<string, number>();
  #bytes = 0;
  #unmapped = 0;
  /** Frames added since the last `take`. */
  frames = 0;
  /** `normalize` calls since the last `take`. */
  normalized = 0;

  constructor(options: PrepareOptions) {
    this.#options = options;
  }

  /** Bytes of text held (see `Submission.bytes`). */
  get bytes(): number {
    return this.#bytes;
  }

  add(frame: Frame): void {
    this.frames++;
    const { receivedAt, maxLineBytes } = this.#options;
    if (frame.kind === "line") {
      // Keyed by the text itself: no key string is built per frame of a flood.
      const before = this.#seenLines.get(frame.text);
      if (before !== undefined) {
        this.#repeat(before);
        return;
      }
      this.normalized++;
      const result = normalize(frame.text, { receivedAt, maxBytes: maxLineBytes });
      if (result.ok) {
        this.#options.hosts?.observe(result.doc);
        const doc = storedDoc(result.doc);
        this.#bytes += doc.json.length;
        this.#docs.push(doc);
        this.#unmapped += result.unmapped.length;
        this.#seenLines.set(frame.text, { doc, unmapped: result.unmapped.length });
      } else {
        this.#seenLines.set(frame.text, this.#deadLetters.length);
        this.#dead(result.error.code, result.error.message, frame.text);
      }
    } else if (frame.kind === "oversize") {
      const error = oversizeError(frame, maxLineBytes);
      this.#deadError(error.code, error.message, frame.head);
    } else {
      const code = this.#options.errorCode ?? "ERR_JSON_SYNTAX";
      this.#deadError(code, frame.message, frame.text);
    }
  }

  /** What was added since the last `take`, and a fresh start. */
  take(): Submission {
    const deadLetters = this.#deadLetters;
    for (let i = 0; i < deadLetters.length; i++) {
      const count = this.#counts[i]!;
      if (count > 1) deadLetters[i] = { ...deadLetters[i]!, count };
    }
    const submission: Submission = {
      docs: this.#docs,
      deadLetters,
      frames: this.frames,
      bytes: this.#bytes,
      unmappedKeys: this.#unmapped,
    };
    this.#docs = [];
    this.#deadLetters = [];
    this.#counts = [];
    this.#seenLines = new Map();
    this.#seenErrors = new Map();
    this.#bytes = 0;
    this.#unmapped = 0;
    this.frames = 0;
    this.normalized = 0;
    return submission;
  }

  /** A framing error (oversize, broken structure), counted when its code and text repeat. */
  #deadError(code: string, message: string, original: string): void {
    const key = `${code}:${original}`;
    const before = this.#seenErrors.get(key);
    if (before !== undefined) {
      this.#repeat(before);
      return;
    }
    this.#seenErrors.set(key, this.#deadLetters.length);
    this.#dead(code, message, original);
  }

  #dead(code: string, message: string, original: string): void {
    this.#bytes += original.length + message.length;
    this.#deadLetters.push({
      code,
      message,
      original,
      input: this.#options.input,
      receivedAt: this.#options.receivedAt,
    });
    this.#counts.push(1);
  }

  #repeat(before: { doc: StoredDoc; unmapped: number } | number): void {
    if (typeof before === "number") this.#counts[before]!++;
    else {
      this.#docs.push(before.doc);
      this.#unmapped += before.unmapped;
    }
  }
}

/** All of `frames` as one submission (see `SubmissionBuilder`). */
export function prepare(frames: readonly Frame[], options: PrepareOptions): Submission {
  const builder = new SubmissionBuilder(options);
  for (const frame of frames) builder.add(frame);
  return builder.take();
}

/**
 * @module pipeline/step
 * The one per-frame step, for every source: the CLI (in its thread and in its worker threads) and
 * the server's HTTP, TCP and UDP inputs. A frame becomes a document (normalized, `event.original`
 * kept or not, its host enriched when a host directory is given) or a dead letter whose code says
 * why; never nothing. Two collectors take the step's results: `TextBatch` (the CLI: documents as
 * NDJSON text, plain data that can cross from a worker thread; dead letters rendered where the
 * input name and the absolute line numbers are known, the main thread) and `SubmissionBuilder`
 * (the server: events for the sinks, a repeated text normalized once, repeated dead letters one
 * counted row).
 */
import type { EcsDocument } from "../ecs/document.ts";
import type { HostDirectory } from "../enrich/hosts.ts";
import { normalizeError, type NormalizeError } from "../errors.ts";
import { LineFramer, type Frame } from "../framing/index.ts";
import { deadLetter, normalize } from "../normalize.ts";
import { outEvent, type OutEvent } from "../delivery/event.ts";
import type { DeadLetterRow } from "../store/store.ts";
import { countKey } from "./stats.ts";

export interface ProcessSettings {
  /** Keep the raw event at `event.original`. */
  original: boolean;
  /** Cap on one frame, in bytes. */
  maxBytes: number;
}

/** A frame that did not become a document; `line` is relative to the batch's first line. */
export interface DeadRecord {
  error: NormalizeError;
  original: string;
  line: number;
  receivedAt: string;
}

/** What a run of frames produced; plain data, so it can cross from a worker thread. */
export interface Batch {
  /**
   * The documents, one JSON text per line, each ending with `\n`; UTF-8 bytes once it comes from
   * a worker (encoded there, transferred, so the main thread neither encodes nor copies it).
   */
  ndjson: string | Uint8Array;
  dead: DeadRecord[];
  /** Frames handled: documents + dead letters. */
  events: number;
  documents: number;
  unmapped: Map<string, number>;
  unsafeKeys: number;
  /**
   * Input lines the batch spans, which numbers the lines of the batches after it; 0 when its
   * frames already carry absolute line numbers.
   */
  lines: number;
}

/** A batch as it is filled: its documents still text. */
export interface TextBatch extends Batch {
  ndjson: string;
}

export function createBatch(): TextBatch {
  return { ndjson: "", dead: [], events: 0, documents: 0, unmapped: new Map(), unsafeKeys: 0, lines: 0 };
}

/** What the step made of one frame. */
export type StepResult =
  | {
      readonly ok: true;
      readonly doc: EcsDocument;
      /** Tanium `fields` keys no mapper used. */
      readonly unmapped: readonly string[];
      /** Keys such as `__proto__` removed from the input. */
      readonly unsafeKeys: number;
    }
  | { readonly ok: false; readonly error: NormalizeError; readonly original: string };

/**
 * The per-frame step. The dead-letter code of a framing error is the frame's own (`ERR_FRAMING`
 * for a bad octet-counting prefix), else `ERR_JSON_SYNTAX` (a broken JSON array), wherever the
 * frame came from; a frame over the cap is `ERR_LINE_TOO_LONG` with its head as the original.
 */
export function step(
  frame: Frame,
  receivedAt: string,
  settings: ProcessSettings,
  hosts?: HostDirectory,
): StepResult {
  if (frame.kind === "line") {
    const result = normalize(frame.text, {
      receivedAt,
      original: settings.original,
      maxBytes: settings.maxBytes,
    });
    if (!result.ok) return { ok: false, error: result.error, original: frame.text };
    hosts?.observe(result.doc);
    return result;
  }
  if (frame.kind === "oversize")
    return { ok: false, error: oversizeError(frame, settings.maxBytes), original: frame.head };
  return {
    ok: false,
    error: normalizeError(frame.code ?? "ERR_JSON_SYNTAX", frame.message),
    original: frame.text,
  };
}

/**
 * The step into a CLI batch: a document appended as NDJSON, or a dead-letter record. Never drops
 * a frame: every call adds exactly one to `documents` or to `dead`.
 */
export function processFrame(
  frame: Frame,
  receivedAt: string,
  settings: ProcessSettings,
  batch: TextBatch,
  lineOffset = 0,
): void {
  batch.events++;
  const result = step(frame, receivedAt, settings);
  if (result.ok) {
    batch.ndjson += JSON.stringify(result.doc) + "\n";
    batch.documents++;
    for (const key of result.unmapped) countKey(batch.unmapped, key);
    batch.unsafeKeys += result.unsafeKeys;
  } else {
    batch.dead.push({
      error: result.error,
      original: result.original,
      line: frame.line + lineOffset,
      receivedAt,
    });
  }
}

/** Why a frame over the size cap is a dead letter; its original is the frame's head. */
export function oversizeError(frame: Extract<Frame, { kind: "oversize" }>, maxBytes: number): NormalizeError {
  const kept = Buffer.byteLength(frame.head);
  return normalizeError(
    "ERR_LINE_TOO_LONG",
    `${frame.bytes} bytes over the ${maxBytes} byte limit; the original is cut to its first ${kept} bytes.`,
  );
}

export function processFrames(
  frames: readonly Frame[],
  receivedAt: string,
  settings: ProcessSettings,
  lineOffset = 0,
): TextBatch {
  const batch = createBatch();
  for (const frame of frames) processFrame(frame, receivedAt, settings, batch, lineOffset);
  return batch;
}

const NEWLINE = new Uint8Array([0x0a]);

/**
 * A fresh LineFramer for bytes cut from an input. `continued` says they do not start the input;
 * a leading newline is then framed first, so that the framer does not take their first bytes for
 * the input's byte-order mark, and `lineOffset` (-1) shifts the numbers back to make up for it.
 */
export function pieceFramer(
  maxBytes: number,
  continued: boolean,
): { framer: LineFramer; lineOffset: number } {
  const framer = new LineFramer({ maxBytes });
  if (continued) framer.push(NEWLINE, []);
  return { framer, lineOffset: continued ? -1 : 0 };
}

/** Whole lines cut from an input (the workers' unit): framed on their own, numbered from the piece's first line. */
export function processLines(
  bytes: Uint8Array,
  continued: boolean,
  receivedAt: string,
  settings: ProcessSettings,
): TextBatch {
  const { framer, lineOffset } = pieceFramer(settings.maxBytes, continued);
  const frames: Frame[] = [];
  framer.push(bytes, frames);
  framer.end(frames);
  const batch = processFrames(frames, receivedAt, settings, lineOffset);
  batch.lines = countNewlines(bytes);
  return batch;
}

function countNewlines(bytes: Uint8Array): number {
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let count = 0;
  for (let i = buf.indexOf(0x0a); i !== -1; i = buf.indexOf(0x0a, i + 1)) count++;
  return count;
}

/** A unit of work for a worker: raw lines cut from an input, or frames cut in the main thread. */
export type Task =
  | { kind: "lines"; bytes: Uint8Array; continued: boolean; receivedAt: string }
  | { kind: "frames"; frames: Frame[]; receivedAt: string };

export function processTask(task: Task, settings: ProcessSettings): TextBatch {
  return task.kind === "lines"
    ? processLines(task.bytes, task.continued, task.receivedAt, settings)
    : processFrames(task.frames, task.receivedAt, settings);
}

/** The batch's dead letters as ECS NDJSON, numbered from `lineBase` (the lines before the batch). */
export function renderDeadLetters(dead: readonly DeadRecord[], input: string, lineBase: number): string {
  let text = "";
  for (const record of dead) {
    const doc = deadLetter(record.error, {
      original: record.original,
      input,
      line: lineBase + record.line,
      receivedAt: record.receivedAt,
    });
    text += JSON.stringify(doc) + "\n";
  }
  return text;
}

/** What one sender handed over at once (an HTTP body slice, a TCP read, a datagram), ready for the sinks. */
export interface Submission {
  /** Serialized at once (see `OutEvent`): no document object waits in the queue. */
  readonly docs: OutEvent[];
  /** One row per distinct text, its `count` saying how many frames carried it. */
  readonly deadLetters: DeadLetterRow[];
  /** Frames this stands for (every frame counts against the queue, repeats included). */
  readonly frames: number;
  /**
   * What the queue's byte cap counts: the text held until every sink settled (documents' JSON,
   * dead letters' original and message; a repeat holds nothing new). UTF-16 length: close enough
   * to the bytes for a memory cap, without encoding each string.
   */
  readonly bytes: number;
  /** Unmapped Tanium `fields` keys, summed (for the metric). */
  readonly unmappedKeys: number;
  /** Keys such as `__proto__` removed, summed (for the metric). */
  readonly unsafeKeys: number;
  /** The input's name and the receive time, for the dead letters of events a sink rejects. */
  readonly input: string;
  readonly receivedAt: string;
}

export interface PrepareOptions {
  /** The input's name on dead letters: `http`, `tcp:<remote>`, `udp:<remote>`. */
  readonly input: string;
  /** ISO-8601 receive time, stamped on every document and dead letter. */
  readonly receivedAt: string;
  readonly maxLineBytes: number;
  /** Keep the raw event at `event.original` (default true). */
  readonly original?: boolean;
  /**
   * The host-enrichment stage after `normalize`: inventory documents teach it each host's OS,
   * recorder documents of a known host get `host.os.*` from it (`enrich/hosts.ts`).
   */
  readonly hosts?: HostDirectory;
}

export function emptySubmission(input = "", receivedAt = ""): Submission {
  return {
    docs: [],
    deadLetters: [],
    frames: 0,
    bytes: 0,
    unmappedKeys: 0,
    unsafeKeys: 0,
    input,
    receivedAt,
  };
}

/** Dead letters a submission stands for, repeats included. */
export function deadLetterCount(submission: Pick<Submission, "deadLetters">): number {
  let n = 0;
  for (const row of submission.deadLetters) n += row.count ?? 1;
  return n;
}

interface SeenDoc {
  readonly doc: OutEvent;
  readonly unmapped: number;
  readonly unsafeKeys: number;
}

/**
 * The step into a server submission, one frame at a time. A text seen before in the same
 * submission is not normalized again (one receive time, so the same result): a repeated dead
 * letter adds to the count of its one row, so a flood of one junk line costs one row, not one
 * object per line; a repeated document is the same `OutEvent` again (sinks keep one per
 * `event.id`, and the sender is told all were accepted). `normalized`, `frames` and `bytes` tell
 * the caller when to `take` a slice: the work and the memory of one grow with them.
 */
export class SubmissionBuilder {
  readonly #options: PrepareOptions;
  readonly #settings: ProcessSettings;
  #docs: OutEvent[] = [];
  #deadLetters: DeadLetterRow[] = [];
  /** Repeat counts by index into `#deadLetters`, applied by `take` (rows are immutable). */
  #counts: number[] = [];
  /** Results by line text, and dead-letter rows of framing errors by code and text. */
  #seenLines = new Map<string, SeenDoc | number>();
  #seenErrors = new Map<string, number>();
  #bytes = 0;
  #unmapped = 0;
  #unsafeKeys = 0;
  /** Frames added since the last `take`. */
  frames = 0;
  /** `normalize` calls since the last `take`. */
  normalized = 0;

  constructor(options: PrepareOptions) {
    this.#options = options;
    this.#settings = { original: options.original ?? true, maxBytes: options.maxLineBytes };
  }

  /** Bytes of text held (see `Submission.bytes`). */
  get bytes(): number {
    return this.#bytes;
  }

  add(frame: Frame): void {
    this.frames++;
    if (frame.kind === "line") {
      // Keyed by the text itself: no key string is built per frame of a flood.
      const before = this.#seenLines.get(frame.text);
      if (before !== undefined) {
        this.#repeat(before);
        return;
      }
      this.normalized++;
    }
    const result = step(frame, this.#options.receivedAt, this.#settings, this.#options.hosts);
    if (result.ok) {
      const doc = outEvent(result.doc);
      this.#bytes += doc.json.length;
      const seen = { doc, unmapped: result.unmapped.length, unsafeKeys: result.unsafeKeys };
      // Only a line becomes a document.
      if (frame.kind === "line") this.#seenLines.set(frame.text, seen);
      this.#add(seen);
    } else if (frame.kind === "line") {
      this.#seenLines.set(frame.text, this.#deadLetters.length);
      this.#dead(result.error, result.original);
    } else {
      // A framing error (oversize, broken structure), counted when its code and text repeat.
      const key = `${result.error.code}:${result.original}`;
      const before = this.#seenErrors.get(key);
      if (before !== undefined) this.#repeat(before);
      else {
        this.#seenErrors.set(key, this.#deadLetters.length);
        this.#dead(result.error, result.original);
      }
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
      unsafeKeys: this.#unsafeKeys,
      input: this.#options.input,
      receivedAt: this.#options.receivedAt,
    };
    this.#docs = [];
    this.#deadLetters = [];
    this.#counts = [];
    this.#seenLines = new Map();
    this.#seenErrors = new Map();
    this.#bytes = 0;
    this.#unmapped = 0;
    this.#unsafeKeys = 0;
    this.frames = 0;
    this.normalized = 0;
    return submission;
  }

  #add(seen: SeenDoc): void {
    this.#docs.push(seen.doc);
    this.#unmapped += seen.unmapped;
    this.#unsafeKeys += seen.unsafeKeys;
  }

  #dead(error: NormalizeError, original: string): void {
    this.#bytes += original.length + error.message.length;
    this.#deadLetters.push({
      code: error.code,
      message: error.message,
      original,
      input: this.#options.input,
      receivedAt: this.#options.receivedAt,
    });
    this.#counts.push(1);
  }

  #repeat(before: SeenDoc | number): void {
    if (typeof before === "number") this.#counts[before]!++;
    else this.#add(before);
  }
}

/**
 * What an input fills with frames and takes submissions from. On one machine, and on a worker,
 * the step (`SubmissionBuilder`: normalized here); on a receiver (`serve --publish`), the raw
 * frames for the broker, normalized by the workers (`broker/raw.ts`). The inputs take whichever
 * the server gives them and name neither.
 */
export interface FrameCollector {
  add(frame: Frame): void;
  take(): Submission;
  /** Frames added since the last `take`. */
  readonly frames: number;
  /** `normalize` calls since the last `take` (0 where nothing is normalized). */
  readonly normalized: number;
  /** Bytes of text held (see `Submission.bytes`). */
  readonly bytes: number;
}

export type CollectorFactory = (options: PrepareOptions) => FrameCollector;

/** The step as a collector: frames normalized here. */
export const normalizingCollector: CollectorFactory = (options) => new SubmissionBuilder(options);

/** All of `frames` as one submission of the collector `factory` makes. */
export function collect(
  factory: CollectorFactory,
  frames: readonly Frame[],
  options: PrepareOptions,
): Submission {
  const collector = factory(options);
  for (const frame of frames) collector.add(frame);
  return collector.take();
}

/** All of `frames` as one submission (see `SubmissionBuilder`). */
export function prepare(frames: readonly Frame[], options: PrepareOptions): Submission {
  return collect(normalizingCollector, frames, options);
}

/**
 * @module pipeline/process
 * Frames to output: the one per-frame step, shared by the in-thread path and the worker threads so
 * that both write the same bytes. A batch holds a run of frames' documents as NDJSON text and their
 * failures as records; dead letters are rendered only where the input name and the absolute line
 * numbers are known (the main thread).
 */
import { normalizeError, type NormalizeError } from "../errors.ts";
import { LineFramer, type Frame } from "../framing/index.ts";
import { deadLetter, normalize } from "../normalize.ts";
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

/**
 * The per-frame step: a document appended as NDJSON, or a dead-letter record. Never drops a
 * frame: every call adds exactly one to `documents` or to `dead`.
 */
export function processFrame(
  frame: Frame,
  receivedAt: string,
  settings: ProcessSettings,
  batch: TextBatch,
  lineOffset = 0,
): void {
  batch.events++;
  const line = frame.line + lineOffset;
  if (frame.kind === "line") {
    const result = normalize(frame.text, {
      receivedAt,
      original: settings.original,
      maxBytes: settings.maxBytes,
    });
    if (result.ok) {
      batch.ndjson += JSON.stringify(result.doc) + "\n";
      batch.documents++;
      for (const key of result.unmapped) countKey(batch.unmapped, key);
      batch.unsafeKeys += result.unsafeKeys;
    } else {
      batch.dead.push({ error: result.error, original: frame.text, line, receivedAt });
    }
  } else if (frame.kind === "oversize") {
    batch.dead.push({
      error: oversizeError(frame, settings.maxBytes),
      original: frame.head,
      line,
      receivedAt,
    });
  } else {
    batch.dead.push({
      error: normalizeError("ERR_JSON_SYNTAX", frame.message),
      original: frame.text,
      line,
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

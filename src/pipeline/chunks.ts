/**
 * @module pipeline/chunks
 * Cuts newline-delimited input into pieces of whole lines for the worker threads, doing as little
 * as possible in the main thread: one `lastIndexOf` and one copy per piece. A line too long to fit
 * a piece is framed here instead, in a streaming framer, so memory stays bounded whatever the
 * input holds.
 */
import type { Frame, LineFramer } from "../framing/index.ts";
import { pieceFramer } from "./step.ts";

const LF = 0x0a;

export type Piece =
  /** Whole lines (the last piece of an input may lack its final newline), for a worker. */
  | { kind: "lines"; bytes: Uint8Array; continued: boolean }
  /** One over-long line, already framed; line numbers relative to the piece. */
  | { kind: "frames"; frames: Frame[]; lines: number };

export interface ChunkerOptions {
  /** Gather at least this many bytes before cutting a piece. */
  chunkBytes: number;
  /** The framers' line cap: a line past it needs no more than its head kept. */
  maxBytes: number;
}

export class LineChunker {
  readonly #chunkBytes: number;
  readonly #maxBytes: number;
  /** A carried remainder holding this many bytes and no newline is an over-long line. */
  readonly #longAt: number;
  #parts: Buffer[] = [];
  #size = 0;
  /** Leading parts already known to hold no newline, so each byte is searched once. */
  #clean = 0;
  /** Whether any bytes of the input went out in a piece already. */
  #started = false;
  /** Set while an over-long line streams through this thread's framer. */
  #long: LineFramer | undefined;
  #longOffset = 0;

  constructor(options: ChunkerOptions) {
    this.#chunkBytes = options.chunkBytes;
    this.#maxBytes = options.maxBytes;
    // `maxBytes` + 1 for the `\r` of `\r\n` + 1: from there the line is oversize for sure. (Only
    // memory depends on this: the framer, wherever it runs, decides what the line becomes.)
    this.#longAt = Math.max(options.maxBytes + 2, 1);
  }

  push(chunk: Uint8Array, out: Piece[]): void {
    let buf = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    if (this.#long !== undefined) {
      const nl = buf.indexOf(LF);
      if (nl === -1) {
        this.#long.push(buf, []);
        return;
      }
      const frames: Frame[] = [];
      this.#long.push(buf.subarray(0, nl + 1), frames);
      this.#finishLong(frames, 1, out);
      buf = buf.subarray(nl + 1);
    }
    if (buf.length > 0) {
      this.#parts.push(buf);
      this.#size += buf.length;
    }
    if (this.#size >= this.#chunkBytes) this.#cut(out);
  }

  end(out: Piece[]): void {
    if (this.#long !== undefined) {
      this.#finishLong([], 0, out);
    } else if (this.#size > 0) {
      out.push({
        kind: "lines",
        bytes: this.#take(this.#parts.length, this.#size),
        continued: this.#started,
      });
      this.#started = true;
    }
    this.#parts = [];
    this.#size = 0;
    this.#clean = 0;
  }

  /** Sends everything up to the last newline; a long newline-free remainder turns into a long line. */
  #cut(out: Piece[]): void {
    const parts = this.#parts;
    for (let p = parts.length - 1; p >= this.#clean; p--) {
      const part = parts[p]!;
      const nl = part.lastIndexOf(LF);
      if (nl === -1) continue;
      let bytes = nl + 1;
      for (let q = 0; q < p; q++) bytes += parts[q]!.length;
      const rest = [part.subarray(nl + 1), ...parts.slice(p + 1)].filter((b) => b.length > 0);
      out.push({ kind: "lines", bytes: this.#take(p + 1, bytes), continued: this.#started });
      this.#started = true;
      this.#parts = rest;
      this.#size -= bytes;
      break;
    }
    this.#clean = this.#parts.length;
    if (this.#size >= this.#longAt) this.#startLong();
  }

  /** A copy of the first `count` parts, limited to `bytes`, in a buffer of its own (transferable). */
  #take(count: number, bytes: number): Uint8Array {
    const whole = new Uint8Array(bytes);
    let at = 0;
    for (let q = 0; q < count && at < bytes; q++) {
      const part = this.#parts[q]!;
      const n = Math.min(part.length, bytes - at);
      whole.set(n === part.length ? part : part.subarray(0, n), at);
      at += n;
    }
    return whole;
  }

  #startLong(): void {
    const { framer, lineOffset } = pieceFramer(this.#maxBytes, this.#started);
    this.#longOffset = lineOffset;
    for (const part of this.#parts) framer.push(part, []);
    this.#long = framer;
    this.#parts = [];
    this.#size = 0;
    this.#clean = 0;
  }

  #finishLong(frames: Frame[], lines: number, out: Piece[]): void {
    this.#long?.end(frames);
    const offset = this.#longOffset;
    out.push({ kind: "frames", frames: frames.map((f) => ({ ...f, line: f.line + offset })), lines });
    this.#long = undefined;
    this.#started = true;
  }
}

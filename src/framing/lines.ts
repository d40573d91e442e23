/**
 * @module framing/lines
 * Newline framing: cuts a byte stream into one frame per line, whatever the chunking. Also holds
 * the frame types and the small bounded-buffer helpers that the JSON-array framer shares.
 * Framing never parses JSON: it only decides where each event's text starts and ends.
 */
import { CR, LF, SPACE, TAB } from "./bytes.ts";

/** One unit of framer output. */
export type Frame =
  /** A frame's text (no trailing `\r` or `\n`); `line` is the 1-based line where it starts. */
  | { kind: "line"; text: string; line: number }
  /** A frame longer than `maxBytes`: its total byte length and its first `headBytes` bytes, decoded. */
  | { kind: "oversize"; line: number; bytes: number; head: string }
  /**
   * Malformed input that is not a frame; `text` is up to `headBytes` of the offending text. `code`
   * is the dead-letter code the framer gives it (`ERR_FRAMING` for a bad octet-counting prefix);
   * absent, it is a broken JSON array: `ERR_JSON_SYNTAX`.
   */
  | { kind: "error"; line: number; message: string; text: string; code?: "ERR_FRAMING" };

export interface FramerOptions {
  /** Longest frame, in bytes, emitted as text; longer ones come out as `oversize`. */
  maxBytes: number;
  /** How much of an oversize or erroneous frame to keep (default 65536, capped at `maxBytes`). */
  headBytes?: number;
}

export interface Framer {
  /** Append every frame completed by this chunk to `out`. */
  push(chunk: Uint8Array, out: Frame[]): void;
  /** Flush the last frame (input that does not end with a newline / an unterminated array). */
  end(out: Frame[]): void;
}

export const DEFAULT_HEAD_BYTES = 65536;

const UTF8_BOM = Buffer.from([0xef, 0xbb, 0xbf]);

/** @internal Validated options: bad limits are a programming error, so they throw. */
export function resolveOptions(options: FramerOptions): { maxBytes: number; headBytes: number } {
  const { maxBytes, headBytes = DEFAULT_HEAD_BYTES } = options;
  if (!Number.isSafeInteger(maxBytes) || maxBytes < 0) {
    throw new RangeError(`maxBytes must be a non-negative integer, got ${maxBytes}`);
  }
  if (!Number.isSafeInteger(headBytes) || headBytes < 0) {
    throw new RangeError(`headBytes must be a non-negative integer, got ${headBytes}`);
  }
  return { maxBytes, headBytes: Math.min(headBytes, maxBytes) };
}

/** @internal A Buffer view of the chunk, without copying, so `indexOf`/`toString` are available. */
export function asBuffer(chunk: Uint8Array): Buffer {
  return Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
}

/**
 * @internal Decodes at most `headBytes` of `buf[start, end)`. A multi-byte character cut by the
 * limit is left out rather than turned into a misleading U+FFFD.
 */
export function decodeHead(buf: Buffer, start: number, end: number, headBytes: number): string {
  let stop = Math.min(end, start + headBytes);
  if (stop < end && isContinuation(buf[stop]!)) {
    let k = stop - 1;
    while (k > start && stop - k < 3 && isContinuation(buf[k]!)) k--;
    if (k >= start && (buf[k]! & 0xc0) === 0xc0) stop = k;
  }
  return buf.toString("utf8", start, stop);
}

function isContinuation(byte: number): boolean {
  return (byte & 0xc0) === 0x80;
}

/** Whether `buf[start, end)` holds anything but spaces, tabs and `\r`. */
function hasNonBlank(buf: Buffer, start: number, end: number): boolean {
  for (let i = start; i < end; i++) {
    const b = buf[i]!;
    if (b !== SPACE && b !== TAB && b !== CR) return true;
  }
  return false;
}

/**
 * @internal Drops a UTF-8 BOM at the very start of the input, even when it is split across
 * chunks: a partial match is held back until the next byte decides it.
 */
export class BomSkipper {
  #matched = 0;
  #done = false;

  /** The chunk minus a leading BOM (empty while a split BOM is still undecided). */
  strip(chunk: Buffer): Buffer {
    if (this.#done) return chunk;
    let i = 0;
    while (i < chunk.length && this.#matched < UTF8_BOM.length && chunk[i] === UTF8_BOM[this.#matched]) {
      i++;
      this.#matched++;
    }
    if (this.#matched === UTF8_BOM.length) {
      this.#done = true;
      return chunk.subarray(i);
    }
    if (i === chunk.length) return chunk.subarray(i);
    this.#done = true;
    // Not a BOM after all: the bytes held back so far are ordinary input.
    const held = this.#matched - i;
    return held === 0 ? chunk : Buffer.concat([UTF8_BOM.subarray(0, held), chunk]);
  }

  /** At end of input: the held-back bytes of an incomplete BOM, which are ordinary input. */
  flush(): Buffer {
    const held = this.#done || this.#matched === UTF8_BOM.length ? 0 : this.#matched;
    this.#done = true;
    return Buffer.from(UTF8_BOM.subarray(0, held));
  }
}

/**
 * @internal The bytes of one frame that spans chunks, bounded: up to `limit` bytes are kept; past
 * that only the first bytes (enough for the head) are, while `total` keeps counting.
 */
export class FrameBytes {
  readonly #limit: number;
  readonly #keep: number;
  #parts: Buffer[] = [];
  #retained = 0;
  #head: Buffer | undefined;
  /** Bytes appended since the last reset, kept or not. */
  total = 0;
  /** The last byte appended, or -1. */
  last = -1;

  constructor(limit: number, headBytes: number) {
    this.#limit = limit;
    // One byte past the head lets `decodeHead` see whether the cut splits a character.
    this.#keep = headBytes + 1;
  }

  /** Bytes held in memory. */
  get retained(): number {
    return this.#head === undefined ? this.#retained : this.#head.length;
  }

  /** Whether the frame went over the limit and only its head is kept. */
  get overflowed(): boolean {
    return this.#head !== undefined;
  }

  append(buf: Buffer, start: number, end: number): void {
    if (end <= start) return;
    this.total += end - start;
    this.last = buf[end - 1]!;
    if (this.#head !== undefined) return;
    if (this.total <= this.#limit) {
      // Copied: the caller may reuse its chunk's memory after `push` returns.
      this.#parts.push(Buffer.from(buf.subarray(start, end)));
      this.#retained += end - start;
      return;
    }
    this.#head = Buffer.concat([...this.#parts, buf.subarray(start, end)], Math.min(this.total, this.#keep));
    this.#parts = [];
    this.#retained = 0;
  }

  /** Every byte of the frame; only meaningful when not `overflowed`. */
  bytes(): Buffer {
    if (this.#parts.length === 1) return this.#parts[0]!;
    const whole = Buffer.concat(this.#parts, this.#retained);
    this.#parts = [whole];
    return whole;
  }

  /** The decoded first `headBytes` bytes. */
  head(headBytes: number): string {
    const bytes = this.#head ?? this.bytes();
    return decodeHead(bytes, 0, bytes.length, headBytes);
  }

  reset(): void {
    this.#parts = [];
    this.#retained = 0;
    this.#head = undefined;
    this.total = 0;
    this.last = -1;
  }
}

/**
 * Splits on `\n` (one trailing `\r` stripped), skips blank lines while counting them, and emits
 * lines over `maxBytes` as `oversize` without holding more than `maxBytes` + 1 of them.
 */
export class LineFramer implements Framer {
  readonly #maxBytes: number;
  readonly #headBytes: number;
  readonly #bom = new BomSkipper();
  /** The unfinished line carried over from earlier chunks. */
  readonly #pending: FrameBytes;
  #pendingNonBlank = false;
  /** 1-based number of the line being read. */
  #line = 1;

  constructor(options: FramerOptions) {
    const { maxBytes, headBytes } = resolveOptions(options);
    this.#maxBytes = maxBytes;
    this.#headBytes = headBytes;
    // One spare byte: a line of exactly `maxBytes` may still be followed by the `\r` of `\r\n`.
    this.#pending = new FrameBytes(maxBytes + 1, headBytes);
  }

  /** Bytes held between calls (the unfinished line, or its head once it is known to be too long). */
  get buffered(): number {
    return this.#pending.retained;
  }

  push(chunk: Uint8Array, out: Frame[]): void {
    const buf = this.#bom.strip(asBuffer(chunk));
    let start = 0;
    for (;;) {
      const nl = buf.indexOf(LF, start);
      if (nl === -1) break;
      if (this.#pending.total === 0) this.#emitSlice(buf, start, nl, out);
      else {
        this.#appendPending(buf, start, nl);
        this.#emitPending(out);
      }
      this.#line++;
      start = nl + 1;
    }
    this.#appendPending(buf, start, buf.length);
  }

  end(out: Frame[]): void {
    const held = this.#bom.flush();
    if (held.length > 0) this.push(held, out);
    if (this.#pending.total > 0) this.#emitPending(out);
  }

  /** The common case: a whole line inside one chunk, decoded straight from it. */
  #emitSlice(buf: Buffer, start: number, end: number, out: Frame[]): void {
    if (end > start && buf[end - 1] === CR) end--;
    if (!hasNonBlank(buf, start, end)) return;
    const line = this.#line;
    if (end - start > this.#maxBytes) {
      out.push({
        kind: "oversize",
        line,
        bytes: end - start,
        head: decodeHead(buf, start, end, this.#headBytes),
      });
    } else {
      out.push({ kind: "line", text: buf.toString("utf8", start, end), line });
    }
  }

  #appendPending(buf: Buffer, start: number, end: number): void {
    if (end <= start) return;
    if (!this.#pendingNonBlank) this.#pendingNonBlank = hasNonBlank(buf, start, end);
    this.#pending.append(buf, start, end);
  }

  #emitPending(out: Frame[]): void {
    const pending = this.#pending;
    const bytes = pending.total - (pending.last === CR ? 1 : 0);
    const line = this.#line;
    if (this.#pendingNonBlank) {
      if (pending.overflowed || bytes > this.#maxBytes) {
        out.push({ kind: "oversize", line, bytes, head: pending.head(this.#headBytes) });
      } else {
        out.push({ kind: "line", text: pending.bytes().toString("utf8", 0, bytes), line });
      }
    }
    pending.reset();
    this.#pendingNonBlank = false;
  }
}

/**
 * @module framing/octet
 * RFC 6587 §3.4.1 octet-counting framing (`MSG-LEN SP SYSLOG-MSG`, MSG-LEN = NONZERO-DIGIT
 * *DIGIT), as syslog senders use over TCP and TLS (RFC 5425 §4.3), and the per-connection
 * detector that picks it or newline framing (RFC 6587 §3.4.2) from the first bytes.
 *
 * Like the other framers it only decides where each message starts and ends: the syslog header
 * stays in the text (the decoder strips it). `line` in the frames is the frame's 1-based ordinal.
 *
 * Errors and recovery: a bad length prefix (a non-digit, a leading `0`, more than 10 digits, no
 * space after the digits) cannot tell where the next frame starts, so the framer emits one
 * `error` frame holding the offending text up to the next `\n` and resumes after that `\n`:
 * senders that put a newline after each frame (rsyslog, syslog-ng do) resync at once, and a
 * sender that switched to plain lines gets each line back as an error frame, never silently lost.
 */
import { asBuffer, decodeHead, FrameBytes, LineFramer, resolveOptions } from "./lines.ts";
import type { Frame, Framer, FramerOptions } from "./lines.ts";
import { CR, isBlank, LF, NINE, SPACE, ZERO } from "./bytes.ts";

/** 10 digits reach 9,999,999,999 bytes, more than any cap; an 11th digit is an error. */
const MAX_LENGTH_DIGITS = 10;

const BETWEEN = 0;
const LENGTH = 1;
const BODY = 2;
const BAD = 3;
type State = typeof BETWEEN | typeof LENGTH | typeof BODY | typeof BAD;

function isDigit(b: number): boolean {
  return b >= ZERO && b <= NINE;
}

/** A frame's text without trailing line ends (some senders add `\n` inside the counted bytes). */
function trimmedEnd(buf: Buffer, start: number, end: number): number {
  while (end > start && (buf[end - 1] === LF || buf[end - 1] === CR)) end--;
  return end;
}

function hasNonBlank(buf: Buffer, start: number, end: number): boolean {
  for (let i = start; i < end; i++) if (!isBlank(buf[i]!)) return true;
  return false;
}

/**
 * Cuts `LEN SP MSG` frames from a byte stream, whatever the chunking. Blank bytes between frames
 * are skipped (many senders end each frame with `\n`). A frame longer than `maxBytes` comes out
 * as `oversize` and its bytes are skipped as they arrive: only its head is held.
 */
export class OctetFramer implements Framer {
  readonly #maxBytes: number;
  readonly #headBytes: number;
  #state: State = BETWEEN;
  /** The declared length being read (LENGTH) or of the frame being read (BODY). */
  #length = 0;
  #digits = 0;
  /** Bytes of the body still to come. */
  #remaining = 0;
  readonly #body: FrameBytes;
  /** The offending text of a bad prefix (BAD): its head, and how many bytes it has in all. */
  readonly #bad: FrameBytes;
  #frames = 0;

  constructor(options: FramerOptions) {
    const { maxBytes, headBytes } = resolveOptions(options);
    this.#maxBytes = maxBytes;
    this.#headBytes = headBytes;
    this.#body = new FrameBytes(maxBytes, headBytes);
    // A bad prefix is kept only for the error message: its head is enough.
    this.#bad = new FrameBytes(headBytes, headBytes);
  }

  /** Bytes held between calls (an unfinished frame, or the head of an oversize or bad one). */
  get buffered(): number {
    return this.#body.retained + this.#bad.retained;
  }

  push(chunk: Uint8Array, out: Frame[]): void {
    const buf = asBuffer(chunk);
    let i = 0;
    const n = buf.length;
    while (i < n) {
      switch (this.#state) {
        case BETWEEN: {
          const b = buf[i]!;
          if (isBlank(b)) {
            i++;
          } else if (isDigit(b) && b !== ZERO) {
            this.#state = LENGTH;
            this.#length = b - ZERO;
            this.#digits = 1;
            i++;
          } else {
            this.#state = BAD;
          }
          break;
        }
        case LENGTH: {
          const b = buf[i]!;
          if (isDigit(b) && this.#digits < MAX_LENGTH_DIGITS) {
            this.#length = this.#length * 10 + (b - ZERO);
            this.#digits++;
            i++;
          } else if (b === SPACE) {
            i++;
            this.#state = BODY;
            this.#remaining = this.#length;
          } else {
            // The digits read so far belong to the offending text.
            this.#state = BAD;
            const digits = Buffer.from(String(this.#length));
            this.#bad.append(digits, 0, digits.length);
          }
          break;
        }
        case BODY: {
          const take = Math.min(this.#remaining, n - i);
          if (this.#body.total === 0 && take === this.#remaining) {
            // The common case: the whole body is inside this chunk, decoded straight from it.
            this.#emitSlice(buf, i, i + take, out);
          } else {
            this.#body.append(buf, i, i + take);
            this.#remaining -= take;
            if (this.#remaining === 0) this.#emitBody(out);
          }
          i += take;
          if (this.#body.total === 0) this.#state = BETWEEN;
          break;
        }
        case BAD: {
          const nl = buf.indexOf(LF, i);
          const end = nl === -1 ? n : nl;
          this.#bad.append(buf, i, end);
          i = end;
          if (nl !== -1) {
            i++;
            this.#emitBad(out, "");
          }
          break;
        }
      }
    }
  }

  end(out: Frame[]): void {
    switch (this.#state) {
      case LENGTH: {
        const digits = Buffer.from(String(this.#length));
        this.#bad.append(digits, 0, digits.length);
        this.#emitBad(out, " The input ends inside the length prefix.");
        break;
      }
      case BODY: {
        const got = this.#body.total;
        const head = this.#body.head(this.#headBytes);
        this.#frames++;
        out.push({
          kind: "error",
          code: "ERR_FRAMING",
          line: this.#frames,
          message: `Truncated octet-counted frame: ${this.#length} bytes declared, the input ends after ${got}.`,
          text: head,
        });
        this.#body.reset();
        this.#state = BETWEEN;
        break;
      }
      case BAD:
        this.#emitBad(out, "");
        break;
      default:
        break;
    }
  }

  #emitSlice(buf: Buffer, start: number, end: number, out: Frame[]): void {
    const declared = end - start;
    if (declared > this.#maxBytes) {
      this.#frames++;
      out.push({
        kind: "oversize",
        line: this.#frames,
        bytes: declared,
        head: decodeHead(buf, start, end, this.#headBytes),
      });
      return;
    }
    const stop = trimmedEnd(buf, start, end);
    if (!hasNonBlank(buf, start, stop)) return;
    this.#frames++;
    out.push({ kind: "line", text: buf.toString("utf8", start, stop), line: this.#frames });
  }

  #emitBody(out: Frame[]): void {
    const body = this.#body;
    if (body.overflowed || body.total > this.#maxBytes) {
      this.#frames++;
      out.push({ kind: "oversize", line: this.#frames, bytes: body.total, head: body.head(this.#headBytes) });
    } else {
      const bytes = body.bytes();
      this.#emitSlice(bytes, 0, bytes.length, out);
    }
    body.reset();
  }

  #emitBad(out: Frame[], detail: string): void {
    this.#frames++;
    const text = this.#bad.head(this.#headBytes).replace(/\r$/, "");
    out.push({
      kind: "error",
      code: "ERR_FRAMING",
      line: this.#frames,
      message: `Not an octet-counted frame: expected a length (digits, then a space) before the message.${detail}`,
      text,
    });
    this.#bad.reset();
    this.#state = BETWEEN;
  }
}

/**
 * Per-connection framing detection (RFC 6587 §3.4): a first non-blank run of digits followed by a
 * space means octet counting, anything else newline framing. Only the digit run (at most 10
 * bytes) is held while undecided; blank bytes before it go to both candidates, which emit nothing
 * for them, so the winner has seen the whole stream.
 */
export class DetectFramer implements Framer {
  readonly #options: FramerOptions;
  #mode: "octet" | "lines" | undefined;
  #inner: Framer | undefined;
  #lines: LineFramer | undefined;
  #octet: OctetFramer | undefined;
  /** The digits of a possible length prefix, not yet given to either candidate. */
  readonly #digits: number[] = [];

  constructor(options: FramerOptions) {
    this.#options = options;
    this.#lines = new LineFramer(options);
    this.#octet = new OctetFramer(options);
  }

  /** The detected framing, or undefined while only blank input (and digits) has been seen. */
  get mode(): "octet" | "lines" | undefined {
    return this.#mode;
  }

  get buffered(): number {
    const inner = this.#inner as { buffered?: number } | undefined;
    if (inner !== undefined) return inner.buffered ?? 0;
    return this.#digits.length + (this.#lines?.buffered ?? 0) + (this.#octet?.buffered ?? 0);
  }

  push(chunk: Uint8Array, out: Frame[]): void {
    if (this.#inner !== undefined) {
      this.#inner.push(chunk, out);
      return;
    }
    const buf = asBuffer(chunk);
    for (let i = 0; i < buf.length; i++) {
      const b = buf[i]!;
      if (this.#digits.length === 0) {
        if (isBlank(b)) continue;
        if (isDigit(b) && b !== ZERO) {
          // Blank bytes before the digits (all of this chunk so far) go to both candidates now.
          this.#both(buf.subarray(0, i), out);
          this.#digits.push(b);
          continue;
        }
        this.#both(buf.subarray(0, i), out);
        this.#decide("lines", buf.subarray(i), out);
        return;
      }
      if (isDigit(b) && this.#digits.length < MAX_LENGTH_DIGITS) {
        this.#digits.push(b);
        continue;
      }
      this.#decide(b === SPACE ? "octet" : "lines", buf.subarray(i), out);
      return;
    }
    if (this.#digits.length === 0) this.#both(buf, out);
  }

  end(out: Frame[]): void {
    // Digits and nothing after them: not a length prefix, so a (short) line.
    if (this.#inner === undefined && this.#digits.length > 0) this.#decide("lines", Buffer.alloc(0), out);
    this.#inner?.end(out);
  }

  #both(blank: Buffer, out: Frame[]): void {
    if (blank.length === 0) return;
    this.#lines?.push(blank, out);
    this.#octet?.push(blank, out);
  }

  #decide(mode: "octet" | "lines", rest: Buffer, out: Frame[]): void {
    const inner = mode === "octet" ? this.#octet : this.#lines;
    this.#mode = mode;
    this.#inner = inner ?? new LineFramer(this.#options);
    this.#lines = undefined;
    this.#octet = undefined;
    if (this.#digits.length > 0) this.#inner.push(Buffer.from(this.#digits.splice(0)), out);
    if (rest.length > 0) this.#inner.push(rest, out);
  }
}

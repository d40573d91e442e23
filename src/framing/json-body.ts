/**
 * @module framing/json-body
 * The body of an `application/json` request (the HTTP input): an array of events, one event, or,
 * a common sender mistake, JSON lines sent under that type.
 */
import { JsonArrayFramer } from "./json-array.ts";
import {
  BomSkipper,
  FrameBytes,
  LineFramer,
  resolveOptions,
  type Frame,
  type Framer,
  type FramerOptions,
} from "./lines.ts";
import {
  BACKSLASH,
  CLOSE_BRACE,
  CLOSE_BRACKET,
  isBlank,
  LF,
  OPEN_BRACE,
  OPEN_BRACKET,
  QUOTE,
} from "./bytes.ts";

/**
 * `application/json`, after a UTF-8 BOM (which RFC 8259 §8.1 lets a parser ignore; some Windows
 * senders write one):
 * - a body starting with `[` is an array whose elements are the events (one frame each, streamed,
 *   exact source text kept for `event.original`);
 * - otherwise the first value is scanned (nesting and strings only: validity is `normalize`'s
 *   job). If it ends on the line it started on, the body is taken as JSON lines (NDJSON sent as
 *   `application/json` would otherwise be one dead letter for the whole batch): a single-line
 *   event gives the same one frame either way. If it spans lines (pretty-printed), each top-level
 *   value is one frame, so one pretty-printed event is framed whole.
 * Non-object values reach `normalize`, which makes them dead letters (ERR_NOT_AN_OBJECT). Never
 * throws on any bytes, and any split of the same body gives the same frames.
 */
export class JsonBodyFramer implements Framer {
  readonly #maxBytes: number;
  readonly #headBytes: number;
  readonly #bom = new BomSkipper();
  /** The array or line framer, once the body is known to be one. */
  #inner: Framer | undefined;
  /** The value being read (values mode). */
  readonly #current: FrameBytes;
  /** Whether a value has begun (a non-blank byte seen since the last frame). */
  #started = false;
  /** No frame emitted yet: the first one decides between lines and values. */
  #first = true;
  #depth = 0;
  #inString = false;
  #escape = false;
  #line = 1;
  #startLine = 1;

  constructor(options: FramerOptions) {
    const { maxBytes, headBytes } = resolveOptions(options);
    this.#maxBytes = maxBytes;
    this.#headBytes = headBytes;
    this.#current = new FrameBytes(maxBytes, headBytes);
  }

  push(chunk: Uint8Array, out: Frame[]): void {
    if (this.#inner !== undefined) {
      this.#inner.push(chunk, out);
      return;
    }
    this.#scan(this.#bom.strip(Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength)), out);
  }

  end(out: Frame[]): void {
    if (this.#inner === undefined) {
      const held = this.#bom.flush();
      if (held.length > 0) this.#scan(held, out);
    }
    if (this.#inner !== undefined) {
      this.#inner.end(out);
      return;
    }
    // An unclosed value (or a last line without `\n`) is still one frame.
    if (this.#started) this.#emit(out);
  }

  #scan(buf: Buffer, out: Frame[]): void {
    let from = 0;
    for (let i = 0; i < buf.length; i++) {
      const b = buf[i]!;
      if (!this.#started) {
        if (isBlank(b)) {
          if (b === LF) this.#line++;
          from = i + 1;
          continue;
        }
        if (this.#first && b === OPEN_BRACKET) {
          this.#inner = new JsonArrayFramer({ maxBytes: this.#maxBytes, headBytes: this.#headBytes });
          this.#inner.push(buf.subarray(i), out);
          return;
        }
        this.#started = true;
        this.#startLine = this.#line;
        from = i;
      }
      let endsAt = -1;
      if (this.#inString) {
        if (this.#escape) this.#escape = false;
        else if (b === BACKSLASH) this.#escape = true;
        else if (b === QUOTE) this.#inString = false;
        // A raw newline cannot be inside a JSON string: the string is broken, the line ends.
        else if (b === LF) {
          this.#inString = false;
          if (this.#depth === 0) endsAt = i;
        }
      } else if (b === QUOTE) this.#inString = true;
      else if (b === OPEN_BRACE || b === OPEN_BRACKET) this.#depth++;
      else if (b === CLOSE_BRACE || b === CLOSE_BRACKET) {
        if (this.#depth > 0) this.#depth--;
        if (this.#depth === 0) endsAt = i + 1;
      } else if (b === LF && this.#depth === 0) endsAt = i;
      if (b === LF) this.#line++;
      if (endsAt === -1) continue;
      this.#current.append(buf, from, endsAt);
      const oneLine = this.#startLine === this.#line - (b === LF ? 1 : 0);
      this.#emit(out);
      from = endsAt;
      if (this.#first) {
        this.#first = false;
        if (oneLine) {
          // The first value fit on its line: JSON lines from here on.
          this.#inner = new LineFramer({ maxBytes: this.#maxBytes, headBytes: this.#headBytes });
          this.#inner.push(buf.subarray(endsAt), out);
          return;
        }
      }
    }
    if (this.#started) this.#current.append(buf, from, buf.length);
  }

  #emit(out: Frame[]): void {
    const current = this.#current;
    const line = this.#startLine;
    if (current.overflowed || current.total > this.#maxBytes) {
      out.push({ kind: "oversize", line, bytes: current.total, head: current.head(this.#headBytes) });
    } else {
      const text = current.bytes().toString("utf8").trimEnd();
      if (text !== "") out.push({ kind: "line", text, line });
    }
    current.reset();
    this.#started = false;
    this.#depth = 0;
    this.#inString = false;
    this.#escape = false;
  }
}

/**
 * @module framing/json-body
 * The body of an `application/json` request (the HTTP input): an array of events, or one event.
 */
import { JsonArrayFramer } from "./json-array.ts";
import {
  asBuffer,
  FrameBytes,
  resolveOptions,
  type Frame,
  type Framer,
  type FramerOptions,
} from "./lines.ts";

/**
 * `application/json`: a body starting with `[` is an array whose elements are the events (one
 * frame each, exact source text kept for `event.original`); anything else is one event, framed
 * whole (a pretty-printed object spans lines). Non-object elements reach `normalize`, which makes
 * them dead letters (ERR_NOT_AN_OBJECT).
 */
export class JsonBodyFramer implements Framer {
  readonly #maxBytes: number;
  readonly #headBytes: number;
  #inner: Framer | undefined;
  readonly #whole: FrameBytes;
  #blank = true;

  constructor(options: FramerOptions) {
    const { maxBytes, headBytes } = resolveOptions(options);
    this.#maxBytes = maxBytes;
    this.#headBytes = headBytes;
    this.#whole = new FrameBytes(maxBytes, headBytes);
  }

  push(chunk: Uint8Array, out: Frame[]): void {
    if (this.#inner !== undefined) {
      this.#inner.push(chunk, out);
      return;
    }
    const buf = asBuffer(chunk);
    if (this.#blank) {
      const first = buf.findIndex((b) => b !== 0x20 && b !== 0x0a && b !== 0x0d && b !== 0x09);
      if (first === -1) return;
      this.#blank = false;
      if (buf[first] === 0x5b) {
        this.#inner = new JsonArrayFramer({ maxBytes: this.#maxBytes, headBytes: this.#headBytes });
        this.#inner.push(buf.subarray(first), out);
        return;
      }
      this.#whole.append(buf, first, buf.length);
      return;
    }
    this.#whole.append(buf, 0, buf.length);
  }

  end(out: Frame[]): void {
    if (this.#inner !== undefined) {
      this.#inner.end(out);
      return;
    }
    if (this.#blank) return;
    const whole = this.#whole;
    if (whole.overflowed || whole.total > this.#maxBytes) {
      out.push({ kind: "oversize", line: 1, bytes: whole.total, head: whole.head(this.#headBytes) });
    } else {
      out.push({ kind: "line", line: 1, text: whole.bytes().toString("utf8").trimEnd() });
    }
  }
}

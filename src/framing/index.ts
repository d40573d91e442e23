/**
 * @module framing
 * Bytes to frames: newline-delimited input or one JSON array, chosen by looking at the input.
 */
import { JsonArrayFramer } from "./json-array.ts";
import { JsonBodyFramer } from "./json-body.ts";
import { asBuffer, LineFramer } from "./lines.ts";
import type { Frame, Framer, FramerOptions } from "./lines.ts";

const UTF8_BOM = [0xef, 0xbb, 0xbf] as const;

/**
 * Detects the framing from the first non-blank byte: `[` → JsonArrayFramer, anything else →
 * LineFramer. Buffers only until that byte is seen (skips a UTF-8 BOM and whitespace).
 */
export class AutoFramer implements Framer {
  #mode: "lines" | "json-array" | undefined;
  #inner: LineFramer | JsonArrayFramer | undefined;
  /**
   * Until the mode is known, the blank prefix goes to both candidates, so whichever wins has
   * counted its lines and nothing has to be held here. Neither emits anything for blank input.
   */
  #lines: LineFramer | undefined;
  #array: JsonArrayFramer | undefined;
  /** Input bytes seen so far, only while undecided (to place a leading BOM). */
  #offset = 0;
  #bomPossible = true;

  constructor(options: FramerOptions) {
    this.#lines = new LineFramer(options);
    this.#array = new JsonArrayFramer(options);
  }

  /** The detected framing, or undefined while only blank input has been seen. */
  get mode(): "lines" | "json-array" | undefined {
    return this.#mode;
  }

  /** Bytes held between calls by the framer in use (by the candidates, while undecided). */
  get buffered(): number {
    if (this.#inner !== undefined) return this.#inner.buffered;
    return (this.#lines?.buffered ?? 0) + (this.#array?.buffered ?? 0);
  }

  push(chunk: Uint8Array, out: Frame[]): void {
    if (this.#inner !== undefined) {
      this.#inner.push(chunk, out);
      return;
    }
    const buf = asBuffer(chunk);
    for (let i = 0; i < buf.length; i++, this.#offset++) {
      const b = buf[i]!;
      if (this.#bomPossible && this.#offset < UTF8_BOM.length) {
        if (b === UTF8_BOM[this.#offset]) continue;
        this.#bomPossible = false;
        // A broken BOM: its first byte was the first non-blank one.
        if (this.#offset > 0) {
          this.#decide("lines", buf, out);
          return;
        }
      }
      if (b === 0x20 || b === 0x0a || b === 0x0d || b === 0x09) continue;
      this.#decide(b === 0x5b ? "json-array" : "lines", buf, out);
      return;
    }
    this.#lines?.push(buf, out);
    this.#array?.push(buf, out);
  }

  end(out: Frame[]): void {
    // An unfinished BOM is ordinary text, so only line framing can be right.
    if (
      this.#inner === undefined &&
      this.#bomPossible &&
      this.#offset > 0 &&
      this.#offset < UTF8_BOM.length
    ) {
      this.#decide("lines", Buffer.alloc(0), out);
    }
    // All-blank input stays undecided and yields nothing.
    this.#inner?.end(out);
  }

  /** Picks the framer; it has seen every earlier chunk, so it gets this one whole. */
  #decide(mode: "lines" | "json-array", buf: Buffer, out: Frame[]): void {
    const inner = mode === "lines" ? this.#lines : this.#array;
    this.#mode = mode;
    this.#inner = inner;
    this.#lines = undefined;
    this.#array = undefined;
    inner?.push(buf, out);
  }
}

export { LineFramer, JsonArrayFramer, JsonBodyFramer, type Frame, type Framer, type FramerOptions };

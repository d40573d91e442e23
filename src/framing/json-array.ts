/**
 * @module framing/json-array
 * JSON-array framing: cuts `[ elem , elem , … ]` into one frame per top-level element, carrying the
 * element's exact source text. It tracks only nesting depth and string/escape state (all ASCII,
 * so scanning bytes is UTF-8 safe); checking that an element is valid JSON is the decoder's job.
 */
import { asBuffer, BomSkipper, decodeHead, FrameBytes, resolveOptions } from "./lines.ts";
import type { Frame, Framer, FramerOptions } from "./lines.ts";
import {
  LF,
  CR,
  SPACE,
  TAB,
  QUOTE,
  BACKSLASH,
  COMMA,
  OPEN_BRACKET,
  CLOSE_BRACKET,
  OPEN_BRACE,
  CLOSE_BRACE,
} from "./bytes.ts";

// Where the scanner stands between elements.
/** Before the opening `[`. */
const BEFORE = 0;
/** Just after `[`: an element or `]`. */
const OPEN = 1;
/** After a `,`: an element. */
const NEXT = 2;
/** After an element: `,` or `]`. */
const AFTER = 3;
/** Outside any array (after its `]`, or the input never opened one): anything but whitespace is an error. */
const OUTSIDE = 4;
type Between = typeof BEFORE | typeof OPEN | typeof NEXT | typeof AFTER | typeof OUTSIDE;

const MSG_NOT_ARRAY = "The input is not a JSON array: it does not start with '['.";
const MSG_AFTER_END = "Unexpected text after the closing ']' of the array.";
const MSG_MISSING_COMMA = "Missing ',' before this array element.";
const MSG_UNTERMINATED = "The array is not terminated: the input ends inside its last element.";
const MSG_NO_CLOSE = "The array is not terminated: the input ends before its closing ']'.";

/** Bytes that end a bare scalar (number or literal) at the top level. */
function endsScalar(b: number): boolean {
  return (
    b === SPACE ||
    b === LF ||
    b === CR ||
    b === TAB ||
    b === COMMA ||
    b === CLOSE_BRACKET ||
    b === CLOSE_BRACE ||
    b === OPEN_BRACKET ||
    b === OPEN_BRACE ||
    b === QUOTE
  );
}

/**
 * Emits each top-level element of one JSON array as a `line` frame. Malformed structure yields
 * `error` frames and the scan carries on, so no input is dropped without a trace.
 */
export class JsonArrayFramer implements Framer {
  readonly #maxBytes: number;
  readonly #headBytes: number;
  readonly #bom = new BomSkipper();
  #line = 1;
  #state: Between = BEFORE;

  // The element being scanned.
  #inElement = false;
  #depth = 0;
  #inString = false;
  #escaped = false;
  #scalar = false;
  #elementLine = 1;
  /** Set when the element is out of place: it then comes out as an error with this message. */
  #elementError: string | undefined;
  /** Why text outside an array is an error: after its end, or no array at all. */
  #outsideMessage = MSG_AFTER_END;
  /** Where the scan goes once the element ends. */
  #stateAfter: Between = AFTER;
  /** The element's bytes from earlier chunks. */
  readonly #pending: FrameBytes;

  constructor(options: FramerOptions) {
    const { maxBytes, headBytes } = resolveOptions(options);
    this.#maxBytes = maxBytes;
    this.#headBytes = headBytes;
    this.#pending = new FrameBytes(maxBytes, headBytes);
  }

  /** Bytes held between calls (the unfinished element, or its head once it is known to be too long). */
  get buffered(): number {
    return this.#pending.retained;
  }

  push(chunk: Uint8Array, out: Frame[]): void {
    this.#scan(this.#bom.strip(asBuffer(chunk)), out);
  }

  end(out: Frame[]): void {
    this.#scan(this.#bom.flush(), out);
    const inArray = this.#inElement
      ? this.#stateAfter === AFTER
      : this.#state !== BEFORE && this.#state !== OUTSIDE;
    let reported = false;
    if (this.#inElement) {
      // A bare scalar is complete at end of input, but inside an array it still lacks the `]`.
      const message = this.#elementError ?? (this.#scalar ? MSG_NO_CLOSE : MSG_UNTERMINATED);
      reported = this.#elementError === undefined;
      out.push({
        kind: "error",
        line: this.#elementLine,
        message,
        text: this.#pending.head(this.#headBytes),
      });
      this.#pending.reset();
      this.#inElement = false;
    }
    if (inArray && !reported) out.push({ kind: "error", line: this.#line, message: MSG_NO_CLOSE, text: "" });
    this.#state = OUTSIDE;
  }

  #scan(buf: Buffer, out: Frame[]): void {
    // Hot state lives in locals for the byte loop and is written back at the end.
    let line = this.#line;
    let state = this.#state;
    let inElement = this.#inElement;
    let depth = this.#depth;
    let inString = this.#inString;
    let escaped = this.#escaped;
    let scalar = this.#scalar;
    /** Where the current element starts in `buf` (0 when it began in an earlier chunk). */
    let start = 0;
    const n = buf.length;
    /** The next newline at or after the string scan position; -1 once there are none left. */
    let nextLf = -2;

    for (let i = 0; i < n; i++) {
      const b = buf[i]!;
      if (inElement) {
        if (inString) {
          if (escaped) {
            escaped = false;
            if (b === LF) line++;
            continue;
          }
          // String bodies are most of the input: jump to the next quote instead of stepping.
          let q = buf.indexOf(QUOTE, i);
          for (;;) {
            const stop = q === -1 ? n : q;
            let run = 0;
            while (stop - run > i && buf[stop - run - 1] === BACKSLASH) run++;
            // Raw newlines are invalid in JSON strings but still count for line numbers.
            if (nextLf !== -1 && nextLf < i) nextLf = buf.indexOf(LF, i);
            while (nextLf !== -1 && nextLf < stop) {
              line++;
              nextLf = buf.indexOf(LF, nextLf + 1);
            }
            if (q === -1) {
              escaped = run % 2 === 1;
              break;
            }
            if (run % 2 === 0) break;
            // An escaped quote: look further; the backslash run before it is settled.
            i = q + 1;
            q = buf.indexOf(QUOTE, i);
          }
          if (q === -1) break;
          i = q;
          inString = false;
          if (depth === 0) {
            inElement = false;
            state = this.#finishElement(buf, start, i + 1, out);
          }
          continue;
        }
        if (!scalar) {
          if (b === QUOTE) inString = true;
          else if (b === OPEN_BRACE || b === OPEN_BRACKET) depth++;
          else if (b === CLOSE_BRACE || b === CLOSE_BRACKET) {
            if (--depth === 0) {
              inElement = false;
              state = this.#finishElement(buf, start, i + 1, out);
            }
          } else if (b === LF) line++;
          continue;
        }
        if (!endsScalar(b)) continue;
        // The byte after a scalar belongs to what follows: fall through and handle it below.
        inElement = false;
        state = this.#finishElement(buf, start, i, out);
      }

      if (b === SPACE || b === LF || b === CR || b === TAB) {
        if (b === LF) line++;
        continue;
      }
      switch (state) {
        case OPEN:
        case NEXT:
          if (b === CLOSE_BRACKET) {
            if (state === NEXT)
              this.#punctuationError("A ',' is followed by ']' (trailing comma).", b, line, out);
            state = OUTSIDE;
            this.#outsideMessage = MSG_AFTER_END;
            continue;
          }
          if (b === COMMA) {
            this.#punctuationError("Missing array element before ','.", b, line, out);
            state = NEXT;
            continue;
          }
          break;
        case AFTER:
          if (b === COMMA) {
            state = NEXT;
            continue;
          }
          if (b === CLOSE_BRACKET) {
            state = OUTSIDE;
            this.#outsideMessage = MSG_AFTER_END;
            continue;
          }
          break;
        case BEFORE:
          if (b === OPEN_BRACKET) {
            state = OPEN;
            continue;
          }
          break;
        default:
          break;
      }
      if (b === CLOSE_BRACE || b === CLOSE_BRACKET || b === COMMA) {
        if (state === BEFORE) {
          this.#outsideMessage = MSG_NOT_ARRAY;
          state = OUTSIDE;
        }
        const message = state === OUTSIDE ? this.#outsideMessage : `Unexpected '${String.fromCharCode(b)}'.`;
        this.#punctuationError(message, b, line, out);
        continue;
      }

      // An element starts here.
      inElement = true;
      start = i;
      this.#elementLine = line;
      inString = b === QUOTE;
      escaped = false;
      scalar = !inString && b !== OPEN_BRACE && b !== OPEN_BRACKET;
      depth = inString || scalar ? 0 : 1;
      if (state === BEFORE || state === OUTSIDE) {
        if (state === BEFORE) this.#outsideMessage = MSG_NOT_ARRAY;
        this.#elementError = this.#outsideMessage;
        this.#stateAfter = OUTSIDE;
      } else {
        this.#elementError = state === AFTER ? MSG_MISSING_COMMA : undefined;
        this.#stateAfter = AFTER;
      }
    }

    if (inElement) this.#pending.append(buf, start, n);
    this.#line = line;
    this.#state = state;
    this.#inElement = inElement;
    this.#depth = depth;
    this.#inString = inString;
    this.#escaped = escaped;
    this.#scalar = scalar;
  }

  /** Emits the element ending at `buf[end]` and returns the state to resume in. */
  #finishElement(buf: Buffer, start: number, end: number, out: Frame[]): Between {
    const pending = this.#pending;
    const line = this.#elementLine;
    const message = this.#elementError;
    if (pending.total === 0) {
      // The common case: the whole element is inside this chunk.
      const bytes = end - start;
      if (message !== undefined) {
        out.push({ kind: "error", line, message, text: decodeHead(buf, start, end, this.#headBytes) });
      } else if (bytes > this.#maxBytes) {
        out.push({ kind: "oversize", line, bytes, head: decodeHead(buf, start, end, this.#headBytes) });
      } else {
        out.push({ kind: "line", text: buf.toString("utf8", start, end), line });
      }
    } else {
      pending.append(buf, start, end);
      if (message !== undefined) {
        out.push({ kind: "error", line, message, text: pending.head(this.#headBytes) });
      } else if (pending.overflowed) {
        out.push({ kind: "oversize", line, bytes: pending.total, head: pending.head(this.#headBytes) });
      } else {
        out.push({ kind: "line", text: pending.bytes().toString("utf8"), line });
      }
      pending.reset();
    }
    return this.#stateAfter;
  }

  #punctuationError(message: string, b: number, line: number, out: Frame[]): void {
    out.push({ kind: "error", line, message, text: this.#headBytes > 0 ? String.fromCharCode(b) : "" });
  }
}

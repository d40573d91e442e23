/**
 * @module decoding/envelope
 * One frame of text → the Tanium JSON object and its raw text. Unwraps what carries the event on
 * the way: a syslog header before the JSON (Connect's "SYSLOG+JSON", events.md §5: take the JSON
 * from the first `{`), or an envelope whose `message` holds the event as a string or an object
 * (the shape of the conformance cases). Parsing is hostile-input safe: size cap first, then
 * `__proto__`/`constructor.prototype` keys are removed before anything reads the object.
 */
import sjson from "secure-json-parse";
import { normalizeError, type NormalizeError } from "../errors.ts";

export type JsonObject = Record<string, unknown>;

export type Decoded =
  | {
      readonly ok: true;
      /** The Tanium event object. */
      readonly value: JsonObject;
      /** Its raw JSON text (the seed's `message`), for `event.original` and `event.id`. */
      readonly text: string;
      /** The whole line as received: where exact digits of big numbers are read back from. */
      readonly source: string;
      /** What stood before the JSON on the line (a syslog header), if anything. */
      readonly prefix: string | undefined;
      /** How many objects had forbidden prototype keys removed. */
      readonly unsafeKeys: number;
    }
  | { readonly ok: false; readonly error: NormalizeError };

const FORBIDDEN = "Object contains forbidden prototype property";

export function decodeLine(raw: string | Readonly<JsonObject>, maxBytes: number): Decoded {
  if (typeof raw !== "string") {
    const text = JSON.stringify(raw);
    return unwrap(raw as JsonObject, text, text, undefined, 0);
  }
  // A UTF-8 byte count is at least the UTF-16 length and at most three times it: skip the count
  // in the common case.
  if (raw.length > maxBytes || (raw.length * 3 > maxBytes && Buffer.byteLength(raw) > maxBytes)) {
    return fail(
      "ERR_LINE_TOO_LONG",
      `The line has ${Buffer.byteLength(raw)} bytes; the limit is ${maxBytes}.`,
    );
  }
  const start = raw.indexOf("{");
  // A line that opens as JSON of another kind (`[…]`, `"…"`) is that JSON, not a header + object.
  if (start < 0 || (start > 0 && JSON_OPENERS.has(raw.trimStart().charAt(0)))) return notAnObject(raw);
  const prefix = start > 0 ? raw.slice(0, start).trim() || undefined : undefined;
  const text = start > 0 ? raw.slice(start) : raw;
  const parsed = parseObject(text);
  if (!parsed.ok) return parsed;
  return unwrap(parsed.value, text, raw, prefix, parsed.unsafeKeys);
}

const JSON_OPENERS = new Set(["[", '"']);

function unwrap(
  value: JsonObject,
  text: string,
  source: string,
  prefix: string | undefined,
  unsafeKeys: number,
): Decoded {
  if (value.event !== undefined || value.fields !== undefined) {
    return { ok: true, value, text, source, prefix, unsafeKeys };
  }
  const message = value.message;
  if (typeof message === "string") {
    const start = message.indexOf("{");
    if (start < 0) return fail("ERR_NO_EVENT", "The envelope's `message` holds no JSON object.");
    const inner = start > 0 ? message.slice(start) : message;
    const parsed = parseObject(inner);
    if (!parsed.ok) return parsed;
    const innerPrefix = start > 0 ? message.slice(0, start).trim() || undefined : undefined;
    return {
      ok: true,
      value: parsed.value,
      text: inner,
      source,
      prefix: innerPrefix ?? prefix,
      unsafeKeys: unsafeKeys + parsed.unsafeKeys,
    };
  }
  if (message !== null && typeof message === "object" && !Array.isArray(message)) {
    // The object's own text is not at hand: its re-serialization stands for it.
    return {
      ok: true,
      value: message as JsonObject,
      text: JSON.stringify(message),
      source,
      prefix,
      unsafeKeys,
    };
  }
  return { ok: true, value, text, source, prefix, unsafeKeys };
}

type Parsed = { ok: true; value: JsonObject; unsafeKeys: number } | { ok: false; error: NormalizeError };

function parseObject(text: string): Parsed {
  let value: unknown;
  let unsafeKeys = 0;
  try {
    // Every spelling of a forbidden key holds one of these substrings (`\u` covers escaped ones),
    // and memchr-fast indexOf rules them out for nearly every line before any regex runs.
    value =
      text.includes("__proto__") || text.includes("constructor") || text.includes("\\u")
        ? sjson.parse(text, null, { protoAction: "error", constructorAction: "error" })
        : JSON.parse(text);
  } catch (err) {
    if (!(err instanceof SyntaxError)) return fail("ERR_TOO_DEEP", describeError(err));
    if (err.message !== FORBIDDEN) return fail("ERR_JSON_SYNTAX", err.message);
    value = sjson.parse(text, null, { protoAction: "remove", constructorAction: "remove" });
    unsafeKeys = 1;
  }
  if (value === null || typeof value !== "object" || Array.isArray(value)) {
    return fail("ERR_NOT_AN_OBJECT", `Got ${kindOf(value)}.`);
  }
  return { ok: true, value: value as JsonObject, unsafeKeys };
}

/** A line with no `{` at all: say whether it is JSON of another kind or not JSON. */
function notAnObject(raw: string): Decoded {
  try {
    const value: unknown = JSON.parse(raw);
    return fail("ERR_NOT_AN_OBJECT", `Got ${kindOf(value)}.`);
  } catch (err) {
    return fail("ERR_JSON_SYNTAX", describeError(err));
  }
}

function kindOf(value: unknown): string {
  return Array.isArray(value) ? "an array" : value === null ? "null" : typeof value;
}

function describeError(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

function fail(
  code: Parameters<typeof normalizeError>[0],
  detail: string,
): { ok: false; error: NormalizeError } {
  return { ok: false, error: normalizeError(code, detail) };
}

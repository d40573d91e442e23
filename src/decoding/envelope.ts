/**
 * @module decoding/envelope
 * One frame of text → the Tanium JSON object and its raw text. Unwraps what carries the event on
 * the way: a syslog header before the JSON (Connect's "SYSLOG+JSON", events.md §5), or an
 * envelope whose `message` holds the event as a string or an object (the shape of the conformance
 * cases). After a syslog header the payload may also be Connect's key=value text (events.md §4,
 * EXA-IM), decoded into an object of string values. The JSON is looked for after the header, so a
 * `{` in RFC 5424 structured data is not taken for it; a line with no recognizable header keeps
 * the old rule, JSON from the first `{`. Parsing is hostile-input safe: size cap first, then
 * `__proto__`/`constructor.prototype` keys are removed before anything reads the object.
 */
import { normalizeError, type NormalizeError } from "../errors.ts";
import { kindOf, parseJsonSafely } from "./json.ts";
import { parseKeyValue } from "./keyvalue.ts";
import { parseSyslog, type SyslogHeader } from "./syslog.ts";

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
      /** The syslog header the payload came behind, parsed. */
      readonly syslog?: SyslogHeader | undefined;
    }
  | { readonly ok: false; readonly error: NormalizeError };

export function decodeLine(raw: string | Readonly<JsonObject>, maxBytes: number): Decoded {
  if (typeof raw !== "string") {
    const text = JSON.stringify(raw);
    return unwrap(raw as JsonObject, text, text, undefined, 0, undefined);
  }
  // A UTF-8 byte count is at least the UTF-16 length and at most three times it: skip the count
  // in the common case.
  if (raw.length > maxBytes || (raw.length * 3 > maxBytes && Buffer.byteLength(raw) > maxBytes)) {
    return fail(
      "ERR_LINE_TOO_LONG",
      `The line has ${Buffer.byteLength(raw)} bytes; the limit is ${maxBytes}.`,
    );
  }
  const payload = locatePayload(raw);
  if (payload.kind === "none") return notAnObject(raw);
  if (payload.kind === "pairs") return { ok: true, ...payload.decoded, source: raw };
  const { start, syslog } = payload;
  const prefix = start > 0 ? raw.slice(0, start).trim() || undefined : undefined;
  const text = start > 0 ? raw.slice(start) : raw;
  const parsed = parseObject(text);
  if (!parsed.ok) return parsed;
  return unwrap(parsed.value, text, raw, prefix, parsed.unsafeKeys, syslog);
}

const JSON_OPENERS = new Set(["[", '"']);

type Payload =
  | { kind: "json"; start: number; syslog: SyslogHeader | undefined }
  | { kind: "pairs"; decoded: Omit<Extract<Decoded, { ok: true }>, "ok" | "source"> }
  | { kind: "none" };

/**
 * Where a line's payload is: JSON from an offset, key=value pairs after a syslog header, or
 * nothing usable. The pairs' `text` is the whole line (it has no JSON of its own), their prefix
 * the header.
 */
function locatePayload(line: string): Payload {
  let lead = 0;
  while (lead < line.length && line.charCodeAt(lead) <= 32) lead++;
  const opener = line.charAt(lead);
  // The common case, a bare JSON object, and JSON of another kind (`[…]`, `"…"`): no header.
  if (opener === "{") return { kind: "json", start: lead, syslog: undefined };
  if (JSON_OPENERS.has(opener)) return { kind: "none" };
  const syslog = parseSyslog(line);
  if (syslog !== undefined) {
    const bodyAt = line.length - syslog.message.length;
    const brace = syslog.message.indexOf("{");
    const body = brace >= 0 ? syslog.message.slice(0, brace).trim() : undefined;
    if (body === "") return { kind: "json", start: bodyAt + brace, syslog };
    const pairs = parseKeyValue(syslog.message);
    if (pairs !== undefined && (brace < 0 || pairs.firstAt < brace)) {
      const prefix = line.slice(0, bodyAt).trim() || undefined;
      return {
        kind: "pairs",
        decoded: { value: pairs.pairs, text: line, prefix, unsafeKeys: pairs.unsafeKeys, syslog },
      };
    }
    if (brace >= 0) return { kind: "json", start: bodyAt + brace, syslog };
    return { kind: "none" };
  }
  const start = line.indexOf("{");
  return start < 0 ? { kind: "none" } : { kind: "json", start, syslog: undefined };
}

function unwrap(
  value: JsonObject,
  text: string,
  source: string,
  prefix: string | undefined,
  unsafeKeys: number,
  syslog: SyslogHeader | undefined,
): Decoded {
  if (value.event !== undefined || value.fields !== undefined) {
    return { ok: true, value, text, source, prefix, unsafeKeys, syslog };
  }
  const message = value.message;
  if (typeof message === "string") {
    const payload = locatePayload(message);
    if (payload.kind === "none") {
      return fail("ERR_NO_EVENT", "The envelope's `message` holds no JSON object.");
    }
    if (payload.kind === "pairs") {
      const inner = payload.decoded;
      return { ok: true, ...inner, source, unsafeKeys: unsafeKeys + inner.unsafeKeys };
    }
    const start = payload.start;
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
      syslog: payload.syslog ?? syslog,
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
      syslog,
    };
  }
  return { ok: true, value, text, source, prefix, unsafeKeys, syslog };
}

type Parsed = { ok: true; value: JsonObject; unsafeKeys: number } | { ok: false; error: NormalizeError };

function parseObject(text: string): Parsed {
  const parsed = parseJsonSafely(text);
  if (!parsed.ok) return fail(parsed.tooDeep ? "ERR_TOO_DEEP" : "ERR_JSON_SYNTAX", parsed.message);
  const { value } = parsed;
  if (value === null || typeof value !== "object" || Array.isArray(value)) {
    return fail("ERR_NOT_AN_OBJECT", `Got ${kindOf(value)}.`);
  }
  return { ok: true, value: value as JsonObject, unsafeKeys: parsed.unsafeKeys };
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

function describeError(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

function fail(
  code: Parameters<typeof normalizeError>[0],
  detail: string,
): { ok: false; error: NormalizeError } {
  return { ok: false, error: normalizeError(code, detail) };
}

/**
 * @module tanium/alert/other-parameters
 * B1's `Other Parameters` column (events.md §3.1): `name=…|source=…|type=…|payload=<base64 JSON>`,
 * split on `|`, then each part on its first `=` only (base64 padding holds `=`, ELA `default.yml`);
 * and the payload: base64 (standard alphabet, padded, §6.9) → UTF-8 → JSON object, the same object
 * B2 sends as `Match Details`. Also the safe JSON parse used for a `Match Details` string.
 */
import { kindOf, parseJsonSafely } from "../../decoding/json.ts";
import type { JsonObject } from "../keys.ts";

/** Parts read from one `Other Parameters` value; more is hostile input, and is left unread. */
export const MAX_PARAMETERS = 64;

/**
 * The `key=value` pairs in order, keys trimmed. A part without `=` continues the previous value
 * (a `|` inside a rule name must not cut it); one before any pair is kept under the key `""`.
 */
export function splitOtherParameters(text: string): Array<[string, string]> {
  const pairs: Array<[string, string]> = [];
  let from = 0;
  while (from <= text.length) {
    let to = text.indexOf("|", from);
    if (to < 0) to = text.length;
    const part = text.slice(from, to);
    from = to + 1;
    const eq = part.indexOf("=");
    const last = pairs[pairs.length - 1];
    if (eq > 0) {
      if (pairs.length >= MAX_PARAMETERS) break;
      pairs.push([part.slice(0, eq).trim(), part.slice(eq + 1)]);
    } else if (last !== undefined) {
      last[1] += `|${part}`;
    } else if (part !== "") {
      pairs.push(["", part]);
    }
  }
  return pairs;
}

export type PayloadProblem = "base64" | "utf8" | "json" | "not_an_object";

export type Decoded =
  | {
      readonly ok: true;
      /** The decoded JSON text: where exact digits of big numbers are read back from. */
      readonly text: string;
      readonly value: JsonObject;
      /** How many `__proto__`/`constructor.prototype` keys were removed (0 or 1: "some"). */
      readonly unsafeKeys: number;
    }
  | { readonly ok: false; readonly problem: PayloadProblem; readonly detail: string };

/** 1 for the base64 alphabet (standard, and URL-safe `-`/`_`, which Node's decoder also takes). */
const ALPHABET = new Uint8Array(128);
for (const c of "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/-_") {
  ALPHABET[c.charCodeAt(0)] = 1;
}
const EQUALS = 61;
const utf8 = new TextDecoder("utf-8", { fatal: true });

/** The payload's JSON object, or why it is not one. Never throws. */
export function decodePayload(base64: string): Decoded {
  const clean = checkBase64(base64);
  if (typeof clean !== "string") return clean;
  let text: string;
  try {
    // fatal: bytes that are not UTF-8 fail instead of becoming U+FFFD (a silent change).
    text = utf8.decode(Buffer.from(clean, "base64"));
  } catch {
    return { ok: false, problem: "utf8", detail: "the decoded bytes are not UTF-8 text" };
  }
  return parseJsonObject(text);
}

/**
 * The base64 text without line breaks (MIME wraps at 76), or the problem. Node's own decoder skips
 * characters it does not know, which would turn garbage into bytes silently: checked first.
 */
function checkBase64(value: string): string | Decoded {
  let clean = value;
  let padding = 0;
  for (let i = 0; i < value.length; i++) {
    const code = value.charCodeAt(i);
    if (code === 10 || code === 13 || code === 32 || code === 9) {
      if (clean === value) clean = value.replace(/\s+/g, "");
      continue;
    }
    if (code === EQUALS) padding++;
    else if (padding > 0 || code >= 128 || ALPHABET[code] !== 1) {
      return { ok: false, problem: "base64", detail: `not base64: unexpected character at offset ${i}` };
    }
  }
  const data = clean.length - padding;
  if (data === 0) return { ok: false, problem: "base64", detail: "the payload is empty" };
  if (padding > 2 || data % 4 === 1 || (padding > 0 && clean.length % 4 !== 0)) {
    return { ok: false, problem: "base64", detail: "not base64: wrong length or padding" };
  }
  return clean;
}

/** A JSON object from text, with forbidden prototype keys removed as the line decoder does. */
export function parseJsonObject(text: string): Decoded {
  const parsed = parseJsonSafely(text);
  if (!parsed.ok) return { ok: false, problem: "json", detail: `not JSON: ${parsed.message}` };
  const { value } = parsed;
  if (value === null || typeof value !== "object" || Array.isArray(value)) {
    return { ok: false, problem: "not_an_object", detail: `JSON, but ${kindOf(value)}, not an object` };
  }
  return { ok: true, text, value: value as JsonObject, unsafeKeys: parsed.unsafeKeys };
}

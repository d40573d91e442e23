/**
 * @module tanium/values
 * Readers for Tanium's value formats (events.md §2.2): each takes a raw JSON value and returns the
 * typed value, `undefined` for "no value" (null, absent, empty), or throws FieldTypeError when the
 * value cannot be the type the field needs. Shared by every shape's reader.
 */
import { isIP } from "node:net";
import { FieldTypeError } from "../errors.ts";

/** The kinds of value a Tanium key can hold, named for what the reader returns. */
export type ValueKind = "string" | "text" | "int" | "port" | "ip" | "date" | "bool" | "int64" | "uid";

const INTEGER = /^-?\d+$/;

/** A keyword-like value: numbers and booleans become their text; `""` and null are no value. */
export function readString(value: unknown, field: string): string | undefined {
  if (typeof value === "string") return value === "" ? undefined : value;
  if (value === null || value === undefined) return undefined;
  if (typeof value === "number" || typeof value === "boolean") return String(value);
  throw new FieldTypeError(field, "a string", value);
}

/** Like readString, but `""` is a value (a registry default value has the empty name). */
export function readText(value: unknown, field: string): string | undefined {
  return value === "" ? "" : readString(value, field);
}

/** An OS process id, a size, a count: a safe integer, given as a number or a decimal string. */
export function readInt(value: unknown, field: string): number | undefined {
  if (typeof value === "number") {
    if (Number.isSafeInteger(value)) return value;
  } else if (typeof value === "string") {
    if (value === "") return undefined;
    if (INTEGER.test(value)) {
      const n = Number(value);
      if (Number.isSafeInteger(n)) return n;
    }
  } else if (value === null || value === undefined) return undefined;
  throw new FieldTypeError(field, "an integer", value);
}

/** A TCP/UDP port: an integer from 0 to 65535 (ECS `source.port` is a long, but ports are 16-bit). */
export function readPort(value: unknown, field: string): number | undefined {
  const n = readInt(value, field);
  if (n === undefined || (n >= 0 && n <= 65535)) return n;
  throw new FieldTypeError(field, "a port from 0 to 65535", value);
}

/**
 * An IP address as ECS `ip` accepts it. Brackets (`[::1]`), an IPv6 zone (`fe80::1%eth0`) and an
 * IPv4 `:port` suffix, which Exabeam's Tanium parsers allow for, are removed.
 */
export function readIp(value: unknown, field: string): string | undefined {
  const text = readString(value, field)?.trim();
  if (text === undefined || text === "") return undefined;
  if (isIP(text) !== 0) return text;
  let candidate = text;
  if (candidate.startsWith("[")) candidate = candidate.slice(1, candidate.indexOf("]"));
  const zone = candidate.indexOf("%");
  if (zone > 0) candidate = candidate.slice(0, zone);
  const v4port = /^(\d{1,3}(?:\.\d{1,3}){3}):\d+$/.exec(candidate);
  if (v4port?.[1] !== undefined) candidate = v4port[1];
  if (isIP(candidate) !== 0) return candidate;
  throw new FieldTypeError(field, "an IP address", value);
}

/**
 * A Tanium 64-bit identifier (`tanium_process_id`, `tanium_computer_id`): signed 64-bit decimals
 * sent as strings, kept as strings because a JS number cannot hold them (events.md §0.4).
 * `rawText` rescues the digits when a sender emitted one as a bare JSON number past 2^53: of the
 * key's occurrences in the raw text, the one whose digits round to the parsed number.
 */
export function readInt64(value: unknown, field: string, key: string, rawText: string): string | undefined {
  if (typeof value === "string") {
    if (value === "") return undefined;
    if (INTEGER.test(value)) return value;
  } else if (typeof value === "number" && Number.isInteger(value)) {
    if (Number.isSafeInteger(value)) return String(value);
    const pattern = new RegExp(`"${key}"\\s*:\\s*(-?\\d+)`, "g");
    for (const match of rawText.matchAll(pattern)) {
      if (match[1] !== undefined && Number(match[1]) === value) return match[1];
    }
    return BigInt(value).toString();
  } else if (value === null || value === undefined) return undefined;
  throw new FieldTypeError(field, "a 64-bit integer id", value);
}

/** A user id: Tanium sends an integer (4294967295 = Linux "no login uid", kept as the seed does). */
export function readUid(value: unknown, field: string): string | undefined {
  if (typeof value === "number") {
    if (Number.isInteger(value)) return String(value);
  } else if (typeof value === "string") {
    return value === "" ? undefined : value;
  } else if (value === null || value === undefined) return undefined;
  throw new FieldTypeError(field, "a user id", value);
}

export function readBool(value: unknown, field: string): boolean | undefined {
  if (typeof value === "boolean") return value;
  if (value === null || value === undefined || value === "") return undefined;
  if (value === "true" || value === 1 || value === "1") return true;
  if (value === "false" || value === 0 || value === "0") return false;
  throw new FieldTypeError(field, "a boolean", value);
}

/** A date: an ISO-8601 string (any offset) or epoch seconds/milliseconds, returned in UTC `Z`. */
export function readDate(value: unknown, field: string): string | undefined {
  if (value === null || value === undefined || value === "") return undefined;
  if (typeof value === "string") {
    const iso = toIsoUtc(value);
    if (iso !== undefined) return iso;
  } else if (typeof value === "number" && Number.isFinite(value) && value >= 0) {
    // Below 1e11 a number is epoch seconds (years before 5138), above it milliseconds.
    const ms = value < 1e11 ? value * 1000 : value;
    const date = new Date(ms);
    if (!Number.isNaN(date.getTime())) return date.toISOString();
  }
  throw new FieldTypeError(field, "a date", value);
}

const ISO =
  /^(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d{1,9}))?)?\s?(Z|z|[+-]\d{2}(?::?\d{2})?)?$/;

/**
 * Rewrites an ISO-8601 date-time to UTC with a `Z`, keeping the fraction digits as sent
 * (`…13.084000+00:00` → `…13.084000Z`, as the seed's `process.start` shows). A time without an
 * offset is taken as UTC, Tanium Connect's documented time zone. Returns undefined when invalid.
 */
export function toIsoUtc(text: string): string | undefined {
  const fast = utcFastPath(text);
  if (fast !== undefined) return fast;
  const m = ISO.exec(text.trim());
  if (m === null) return undefined;
  const [, y, mo, d, h, mi, s = "00", frac, zone] = m as unknown as string[];
  const year = Number(y);
  const month = Number(mo);
  const day = Number(d);
  const hour = Number(h);
  const minute = Number(mi);
  const second = Number(s);
  if (month < 1 || month > 12 || day < 1 || hour > 23 || minute > 59 || second > 60) return undefined;
  let offsetMinutes = 0;
  if (zone !== undefined && zone !== "Z" && zone !== "z") {
    const sign = zone.startsWith("-") ? -1 : 1;
    const digits = zone.slice(1).replace(":", "");
    const oh = Number(digits.slice(0, 2));
    const om = digits.length > 2 ? Number(digits.slice(2, 4)) : 0;
    if (oh > 23 || om > 59) return undefined;
    offsetMinutes = sign * (oh * 60 + om);
  }
  const local = Date.UTC(year, month - 1, day, hour, minute, Math.min(second, 59));
  const check = new Date(local);
  if (check.getUTCDate() !== day || check.getUTCMonth() !== month - 1) return undefined;
  const utc = new Date(local - offsetMinutes * 60_000).toISOString();
  // toISOString gives `YYYY-MM-DDTHH:MM:SS.mmmZ`; keep the sender's fraction instead of millis.
  return `${utc.slice(0, 19)}${frac === undefined ? "" : `.${frac}`}Z`;
}

const DAYS_IN_MONTH = [31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];
const UTC_SUFFIX = /^\d{4}-(\d{2})-(\d{2})T([01]\d|2[0-3]):[0-5]\d:[0-5]\d(?:\.\d{1,9})?(?:Z|\+00:00)$/;

/**
 * Tanium's usual form, already UTC (`…T13:47:13.084000+00:00`, events.md §2.1): rewrite the
 * suffix without date arithmetic. Returns undefined for anything else, left to the full path.
 */
function utcFastPath(text: string): string | undefined {
  const m = UTC_SUFFIX.exec(text);
  if (m === null) return undefined;
  const month = Number(m[1]);
  const day = Number(m[2]);
  const year = Number(text.slice(0, 4));
  const leap = year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0);
  const last = month === 2 && !leap ? 28 : (DAYS_IN_MONTH[month - 1] ?? 0);
  if (day < 1 || day > last) return undefined;
  return text.endsWith("Z") ? text : `${text.slice(0, -6)}Z`;
}

/** Deepest nesting kept for an unmapped value; deeper input is hostile (and would overflow JSON.stringify). */
export const MAX_UNMAPPED_DEPTH = 64;

/** Whether a value nests deeper than `limit` levels; iterative, so hostile depth cannot overflow. */
export function deeperThan(root: unknown, limit: number): boolean {
  let level: unknown[] = [root];
  for (let depth = 0; level.length > 0; depth++) {
    const next: unknown[] = [];
    for (const node of level) {
      if (node === null || typeof node !== "object") continue;
      if (depth >= limit) return true;
      for (const child of Object.values(node as Record<string, unknown>)) next.push(child);
    }
    level = next;
  }
  return false;
}

/** A value about to be kept unmapped (under `tanium.*`): fails with ERR_TOO_DEEP when too deep. */
export function checkUnmappedDepth(field: string, value: unknown): void {
  if (deeperThan(value, MAX_UNMAPPED_DEPTH)) {
    throw new FieldTypeError(field, `nested at most ${MAX_UNMAPPED_DEPTH} levels`, value, "ERR_TOO_DEEP");
  }
}

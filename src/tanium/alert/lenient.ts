/**
 * @module tanium/alert/lenient
 * Readers for values inside an alert's payload / `Match Details`. Chronicle calls it "a nested
 * json with varied structure" (GCH-TR): a value of an unexpected type there is treated as absent,
 * never as an error, so that one odd nested value does not cost the alert. In particular `{}` (or
 * an array) where a scalar is expected is Tanium's way of sending nothing (`size_bytes: {}`,
 * `magic_number_hex: {}`, events.md §0.4), and numbers may come as decimal strings (`"69"`).
 */
import { readInt64, toIsoUtc } from "../values.ts";

const DIGITS = /^-?\d+$/;
const DECIMAL = /^-?\d+(?:\.\d+)?$/;
/** Keys safe to put into readInt64's pattern (it builds a RegExp from the key). */
const PLAIN_KEY = /^[A-Za-z0-9_ -]{1,64}$/;

/** A keyword value: strings as sent (`""` is none), numbers and booleans as their text. */
export function text(value: unknown): string | undefined {
  if (typeof value === "string") return value === "" ? undefined : value;
  if (typeof value === "number") return Number.isFinite(value) ? String(value) : undefined;
  if (typeof value === "boolean") return String(value);
  return undefined;
}

/** A safe integer, from a number or a decimal string. */
export function int(value: unknown): number | undefined {
  if (typeof value === "number") return Number.isSafeInteger(value) ? value : undefined;
  if (typeof value === "string" && DIGITS.test(value)) {
    const n = Number(value);
    return Number.isSafeInteger(n) ? n : undefined;
  }
  return undefined;
}

/** A finite number, from a number or a decimal string (`Impact Score`). */
export function num(value: unknown): number | undefined {
  if (typeof value === "number") return Number.isFinite(value) ? value : undefined;
  if (typeof value === "string" && DECIMAL.test(value)) return Number(value);
  return undefined;
}

/**
 * An identifier kept as text: 64-bit ids (`finding_id`, `recorder_unique_id`) are strings in every
 * sample; one sent as a bare number past 2^53 has its digits read back from the raw text (`raw`,
 * where `key` is the key as spelled there), as the recorder shape does (events.md §6.3).
 */
export function id(value: unknown, key?: string, raw?: string): string | undefined {
  if (typeof value === "string") return value === "" ? undefined : value;
  if (typeof value !== "number" || !Number.isInteger(value)) return undefined;
  if (Number.isSafeInteger(value) || key === undefined || raw === undefined || !PLAIN_KEY.test(key)) {
    return String(value);
  }
  try {
    return readInt64(value, key, key, raw);
  } catch {
    return undefined;
  }
}

/** A date: ISO-8601 text or epoch seconds/milliseconds (a number or digits), in UTC. */
export function date(value: unknown): string | undefined {
  if (typeof value === "string") {
    if (value === "") return undefined;
    if (!DIGITS.test(value)) return toIsoUtc(value);
  }
  const n = int(value);
  if (n === undefined || n < 0) return undefined;
  // Below 1e11 a number is epoch seconds (years before 5138), above it milliseconds.
  const at = new Date(n < 1e11 ? n * 1000 : n);
  return Number.isNaN(at.getTime()) ? undefined : at.toISOString();
}

export function bool(value: unknown): boolean | undefined {
  if (typeof value === "boolean") return value;
  if (value === "true" || value === 1) return true;
  if (value === "false" || value === 0) return false;
  return undefined;
}

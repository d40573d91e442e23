/**
 * @module tanium/keys
 * Canonical key lookup for Connect's column-style shapes. The same column or payload key arrives
 * spelled several ways: Connect's spaced columns (`Alert Id`, `File Path`), Sentinel's renamed
 * ones without spaces (`AlertId`, SEN), Connect's syslog key=value form with dashes (`File-Path`,
 * events.md §3.1 and §4, EXA-IM), and inside alert payloads camelCase next to snake_case for the
 * same data (`uniqueEventId`/`unique_event_id`, events.md §3.3). Keys are compared canonically:
 * lower case, without spaces, `_` and `-`. Used by the alert, audit and Integrity Monitor readers.
 */
import { checkUnmappedDepth, readString } from "./values.ts";

export type JsonObject = Readonly<Record<string, unknown>>;

/** Keys of one object that take part in the lookup; more is hostile input, and is ignored. */
export const MAX_KEYS_PER_OBJECT = 256;

/** Canonical spellings seen so far. Bounded: key variety comes from the input. */
const canonicalCache = new Map<string, string>();
const MAX_CACHED_KEYS = 4096;

/** `Alert Id`, `AlertId`, `alert_id`, `alert-id`, `alertId` → `alertid`. */
export function canonicalKey(key: string): string {
  let canonical = canonicalCache.get(key);
  if (canonical !== undefined) return canonical;
  canonical = "";
  let start = 0;
  const lower = key.toLowerCase();
  for (let i = 0; i < lower.length; i++) {
    const code = lower.charCodeAt(i);
    // ' ', '-', '_': copied in runs, so a key without separators is not rebuilt char by char.
    if (code === 32 || code === 45 || code === 95) {
      canonical += lower.slice(start, i);
      start = i + 1;
    }
  }
  canonical += lower.slice(start);
  if (canonicalCache.size < MAX_CACHED_KEYS) canonicalCache.set(key, canonical);
  return canonical;
}

/** A plain JSON object (not null, not an array). */
export function isObject(value: unknown): value is JsonObject {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/**
 * An object's keys by canonical spelling, built once per object. Values are read from the object
 * itself by the original key, so nothing from the input is copied into a prototype-bearing object;
 * the first spelling of a canonical key wins.
 */
export class Keyed {
  readonly object: JsonObject;
  private readonly keys = new Map<string, string>();

  constructor(object: JsonObject) {
    this.object = object;
    let n = 0;
    for (const key in object) {
      if (!Object.hasOwn(object, key)) continue;
      if (++n > MAX_KEYS_PER_OBJECT) break;
      const canonical = canonicalKey(key);
      if (!this.keys.has(canonical)) this.keys.set(canonical, key);
    }
  }

  /** The value under any spelling of `canonical` (which must already be canonical). */
  get(canonical: string): unknown {
    const key = this.keys.get(canonical);
    return key === undefined ? undefined : this.object[key];
  }

  /** The first of several canonical names that has a value. */
  first(...canonicals: readonly string[]): unknown {
    for (const canonical of canonicals) {
      const value = this.get(canonical);
      if (value !== undefined && value !== null) return value;
    }
    return undefined;
  }

  /** The key as the input spelled it, to name it in an error or find its raw digits. */
  keyOf(canonical: string): string | undefined {
    return this.keys.get(canonical);
  }

  /** The value and the key that names it in errors: the arguments of the `read*` value readers. */
  field(canonical: string): [unknown, string] {
    return [this.get(canonical), this.keys.get(canonical) ?? canonical];
  }

  /** A text column, trimmed; an empty one is no value (Connect sends `""` for an unset column). */
  text(canonical: string): string | undefined {
    const raw = readString(...this.field(canonical))?.trim();
    return raw === "" ? undefined : raw;
  }

  /** Input keys whose canonical form is not in `known`, as spelled, with their values. */
  others(known: ReadonlySet<string>): Record<string, unknown> | undefined {
    let out: Record<string, unknown> | undefined;
    for (const [canonical, key] of this.keys) {
      if (known.has(canonical)) continue;
      // Null-prototype: these keys come from the input.
      out ??= Object.create(null) as Record<string, unknown>;
      out[key] = this.object[key];
    }
    return out;
  }

  has(canonical: string): boolean {
    return this.keys.has(canonical);
  }

  /** The nested object under `canonical`, keyed; undefined for anything else. */
  child(canonical: string): Keyed | undefined {
    const value = this.get(canonical);
    return isObject(value) ? new Keyed(value) : undefined;
  }
}

/** Whether any key of `object` (up to MAX_KEYS_PER_OBJECT) has one of the canonical spellings. */
export function hasColumn(
  object: Readonly<Record<string, unknown>>,
  canonicals: ReadonlySet<string>,
): boolean {
  let n = 0;
  for (const key in object) {
    if (++n > MAX_KEYS_PER_OBJECT) return false;
    if (canonicals.has(canonicalKey(key))) return true;
  }
  return false;
}

/**
 * The columns no reader claims, kept whole under `tanium.*` (nothing is dropped): their keys are
 * pushed onto `keys` for the unmapped-keys count. A value nested too deep fails the line with
 * ERR_TOO_DEEP, as a recorder `fields` value does.
 */
export function unmappedColumns(
  columns: Keyed,
  known: ReadonlySet<string>,
  keys: string[],
): Record<string, unknown> | undefined {
  const others = columns.others(known);
  if (others === undefined) return undefined;
  for (const key in others) {
    checkUnmappedDepth(key, others[key]);
    keys.push(key);
  }
  return others;
}

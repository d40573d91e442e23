/**
 * @module tanium/integrity/columns
 * Connect column names in their several spellings: `File Path` in JSON, `File-Path` (or
 * `File-Path ` before a blank and `=`) in the syslog key=value form (events.md §4, EXA-IM), and
 * `FilePath`/`file_path` after a SIEM's renaming (SEN renames columns without spaces). Keys are
 * compared canonically: lower case, without blanks, `-` and `_`. Shared by the Integrity Monitor
 * and audit readers.
 */

/** Keys of one object taken into account; more is hostile input, and is ignored. */
export const MAX_COLUMNS = 256;

/** `File Path`, `File-Path`, `file_path`, `FilePath` → `filepath`. */
export function canonicalColumn(key: string): string {
  return key.toLowerCase().replace(/[\s_-]+/g, "");
}

/**
 * An object's keys by canonical spelling (the first spelling wins). Values are read from the
 * object itself, so nothing from the input is copied into an object with a prototype.
 */
export class Columns {
  readonly object: Readonly<Record<string, unknown>>;
  private readonly keys = new Map<string, string>();

  constructor(object: Readonly<Record<string, unknown>>) {
    this.object = object;
    let n = 0;
    for (const key in object) {
      if (!Object.hasOwn(object, key)) continue;
      if (++n > MAX_COLUMNS) break;
      const canonical = canonicalColumn(key);
      if (!this.keys.has(canonical)) this.keys.set(canonical, key);
    }
  }

  /** The value under any spelling of `canonical` (which must be canonical already). */
  get(canonical: string): unknown {
    const key = this.keys.get(canonical);
    return key === undefined ? undefined : this.object[key];
  }

  /** The key as the input spelled it, to name it in an error. */
  keyOf(canonical: string): string {
    return this.keys.get(canonical) ?? canonical;
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
}

/** Whether any key of `object` (up to MAX_COLUMNS) has one of the canonical spellings. */
export function hasColumn(
  object: Readonly<Record<string, unknown>>,
  canonicals: ReadonlySet<string>,
): boolean {
  let n = 0;
  for (const key in object) {
    if (++n > MAX_COLUMNS) return false;
    if (canonicals.has(canonicalColumn(key))) return true;
  }
  return false;
}

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

/**
 * @module ecs/validate
 * Checks a document against the ECS reference data (field names, types, array-ness, allowed
 * categorization values) and reports every problem at once, so that a golden fixture or a test
 * shows the whole list rather than the first mistake. Used by the tests; no I/O.
 */
import { EcsFlat, EcsVersion } from "@elastic/ecs";
import { isIP } from "node:net";

/** One ECS field as the validator needs it. */
export interface EcsFieldDef {
  /** The ECS data type, e.g. `keyword`, `long`, `ip`, `object`. */
  readonly type: string;
  /** ECS `normalize` has `"array"`: the field may hold an array. */
  readonly array: boolean;
}

/** The ECS reference data, with the lookup tables built once. */
export interface EcsReference {
  /** ECS version the data describes, e.g. `9.4.0`. */
  readonly version: string;
  /** Every flat ECS field name (`process.parent.pid`) to its definition. */
  readonly fields: ReadonlyMap<string, EcsFieldDef>;
  /** Every proper prefix of a field name (`process`, `process.parent`): objects to walk into. */
  readonly parents: ReadonlySet<string>;
  readonly kinds: ReadonlySet<string>;
  /** Each allowed `event.category` to its `expected_event_types`. */
  readonly categories: ReadonlyMap<string, ReadonlySet<string>>;
  readonly types: ReadonlySet<string>;
  readonly outcomes: ReadonlySet<string>;
}

export type EcsProblemCode =
  "ecs_unknown_field" | "ecs_type" | "ecs_array" | "ecs_empty" | "ecs_allowed_value" | "ecs_category_type";

export interface EcsProblem {
  code: EcsProblemCode;
  /** Where in the document: dotted, with `[i]` for array elements (`dns.answers[0].data`). */
  path: string;
  message: string;
}

export interface ValidateOptions {
  /** Paths under these prefixes are not ECS and may hold anything (default `["tanium."]`). */
  customPrefixes?: readonly string[];
}

const DEFAULT_CUSTOM_PREFIXES: readonly string[] = ["tanium."];

/** Types whose value is an object rather than a scalar. */
const OBJECT_TYPES: ReadonlySet<string> = new Set(["object", "nested", "flattened"]);

/** Object fields whose values must be scalars: ECS stores every `labels` value as a keyword. */
const SCALAR_MAP_FIELDS: ReadonlySet<string> = new Set(["labels"]);

/**
 * Build the lookup tables from ECS's generated flat field list, by default the one Elastic ships
 * in `@elastic/ecs` (its `EcsFlat`, from `generated/ecs/ecs_flat.yml`): each field's `type` and
 * `normalize`, and the `allowed_values` of `event.kind`, `event.category` (with each category's
 * `expected_event_types`), `event.type` and `event.outcome`. Throws when `flat` is not shaped so.
 */
export function loadEcsReference(flat: unknown = EcsFlat, version: string = EcsVersion): EcsReference {
  if (!isPlainObject(flat)) throw new Error("ECS flat fields: expected an object of fields.");

  const fields = new Map<string, EcsFieldDef>();
  const parents = new Set<string>();
  for (const [name, def] of Object.entries(flat)) {
    if (!isPlainObject(def) || typeof def.type !== "string") {
      throw new Error(`ECS flat fields: \`${name}\` has no string \`type\`.`);
    }
    const normalize = Array.isArray(def.normalize) ? def.normalize : [];
    fields.set(name, { type: def.type, array: normalize.includes("array") });
    for (let dot = name.indexOf("."); dot > 0; dot = name.indexOf(".", dot + 1)) {
      parents.add(name.slice(0, dot));
    }
  }

  const categories = new Map<string, ReadonlySet<string>>();
  for (const value of allowedValues(flat, "event.category")) {
    const expected = value.expected_event_types;
    categories.set(
      String(value.name),
      new Set(stringList(expected, `event.category ${String(value.name)} expected_event_types`)),
    );
  }

  return {
    version,
    fields,
    parents,
    kinds: allowedNames(flat, "event.kind"),
    categories,
    types: allowedNames(flat, "event.type"),
    outcomes: allowedNames(flat, "event.outcome"),
  };
}

/** The `allowed_values` entries of one flat field, each an object with a string `name`. */
function allowedValues(flat: Record<string, unknown>, field: string): Record<string, unknown>[] {
  const def = flat[field];
  const list = isPlainObject(def) ? def.allowed_values : undefined;
  if (!Array.isArray(list) || list.length === 0) {
    throw new Error(`ECS flat fields: \`${field}\` has no \`allowed_values\`.`);
  }
  return list.map((value: unknown) => {
    if (!isPlainObject(value) || typeof value.name !== "string") {
      throw new Error(`ECS flat fields: an allowed value of \`${field}\` has no string \`name\`.`);
    }
    return value;
  });
}

function allowedNames(flat: Record<string, unknown>, field: string): ReadonlySet<string> {
  return new Set(allowedValues(flat, field).map((value) => String(value.name)));
}

/**
 * Check one document against ECS. Returns every problem found, in document order, with the
 * categorization pairing problems last; `[]` means the document is valid.
 *
 * Codes: `ecs_unknown_field` (not an ECS field), `ecs_type` (wrong type for the field),
 * `ecs_array` (an array where ECS has a single value), `ecs_empty` (`null`, `[]` or `{}`: omit
 * it instead), `ecs_allowed_value` (categorization value not allowed), `ecs_category_type`
 * (`event.type` and `event.category` that do not go together).
 *
 * @example
 * const ref = loadEcsReference();
 * validateEcs({ "@timestamp": "2026-01-01T00:00:00Z", process: { pid: "12" } }, ref);
 * // [{ code: "ecs_type", path: "process.pid", message: "`process.pid` must be a long (a safe integer), got string \"12\"." }]
 */
export function validateEcs(doc: unknown, ref: EcsReference, options: ValidateOptions = {}): EcsProblem[] {
  const prefixes = (options.customPrefixes ?? DEFAULT_CUSTOM_PREFIXES).map((p) =>
    p.endsWith(".") ? p : `${p}.`,
  );
  const walk = new Walk(ref, prefixes);
  if (!isPlainObject(doc)) {
    walk.report("ecs_type", "", `The document must be an object, got ${describe(doc)}.`);
  } else if (Object.keys(doc).length === 0) {
    walk.report("ecs_empty", "", "The document is empty.");
  } else {
    for (const [key, value] of Object.entries(doc)) walk.field(value, key, key);
    walk.checkCategoryTypes();
  }
  return walk.problems;
}

interface Seen {
  value: string;
  path: string;
}

/** One validation run: the reference, the problems so far, and the categorization values seen. */
class Walk {
  readonly problems: EcsProblem[] = [];
  private readonly ref: EcsReference;
  private readonly prefixes: readonly string[];
  private readonly categories: Seen[] = [];
  private readonly types: Seen[] = [];

  constructor(ref: EcsReference, prefixes: readonly string[]) {
    this.ref = ref;
    this.prefixes = prefixes;
  }

  report(code: EcsProblemCode, path: string, message: string): void {
    this.problems.push({ code, path, message });
  }

  /** `value` at ECS field `name` (no indexes), found at document `path` (with indexes). */
  field(value: unknown, name: string, path: string): void {
    // `name.` so that the prefix `tanium.` also covers the `tanium` object itself.
    if (this.prefixes.some((p) => `${name}.`.startsWith(p))) return;
    const def = this.ref.fields.get(name);
    if (def === undefined && !this.ref.parents.has(name)) {
      // Reported once at the top of an unknown subtree, not once per leaf below it.
      this.report("ecs_unknown_field", path, `\`${name}\` is not an ECS field.`);
      return;
    }
    if (value === null) {
      this.report("ecs_empty", path, `\`${name}\` is null: omit empty values.`);
      return;
    }
    if (Array.isArray(value)) {
      if (value.length === 0) {
        this.report("ecs_empty", path, `\`${name}\` is an empty array: omit empty values.`);
        return;
      }
      if (def === undefined || !def.array) {
        this.report("ecs_array", path, `\`${name}\` must be a single value, not an array.`);
      }
      value.forEach((element, i) => {
        const at = `${path}[${i}]`;
        if (element === null) this.report("ecs_empty", at, `\`${name}\` has a null element.`);
        else if (Array.isArray(element)) this.report("ecs_array", at, `\`${name}\` has a nested array.`);
        else this.single(element, name, def, at);
      });
      return;
    }
    this.single(value, name, def, path);
  }

  /** A non-null, non-array value; `def` is undefined for an object-only path such as `process`. */
  private single(value: unknown, name: string, def: EcsFieldDef | undefined, path: string): void {
    if (def === undefined || OBJECT_TYPES.has(def.type)) {
      this.object(value, name, def, path);
      return;
    }
    const expected = scalarMismatch(def.type, value);
    if (expected !== undefined) {
      this.report("ecs_type", path, `\`${name}\` must be ${expected}, got ${describe(value)}.`);
      return;
    }
    if (typeof value === "string") this.allowed(value, name, path);
  }

  private object(value: unknown, name: string, def: EcsFieldDef | undefined, path: string): void {
    if (!isPlainObject(value)) {
      this.report("ecs_type", path, `\`${name}\` must be an object, got ${describe(value)}.`);
      return;
    }
    const entries = Object.entries(value);
    if (entries.length === 0) {
      this.report("ecs_empty", path, `\`${name}\` is an empty object: omit empty values.`);
      return;
    }
    if (SCALAR_MAP_FIELDS.has(name)) {
      for (const [key, inner] of entries) this.scalarEntry(inner, `${name}.${key}`, `${path}.${key}`);
    } else if (this.ref.parents.has(name)) {
      for (const [key, inner] of entries) this.field(inner, `${name}.${key}`, `${path}.${key}`);
    }
    // Otherwise an object or flattened field with no ECS subfields: free-form by design.
  }

  private scalarEntry(value: unknown, name: string, path: string): void {
    if (value === null) this.report("ecs_empty", path, `\`${name}\` is null: omit empty values.`);
    else if (!isScalar(value)) {
      this.report(
        "ecs_type",
        path,
        `\`${name}\` must be a string, number or boolean, got ${describe(value)}.`,
      );
    }
  }

  /** Allowed-value checks for the categorization fields; other strings pass. */
  private allowed(value: string, name: string, path: string): void {
    let allowed: ReadonlySet<string> | ReadonlyMap<string, unknown>;
    switch (name) {
      case "event.kind":
        allowed = this.ref.kinds;
        break;
      case "event.category":
        allowed = this.ref.categories;
        this.categories.push({ value, path });
        break;
      case "event.type":
        allowed = this.ref.types;
        this.types.push({ value, path });
        break;
      case "event.outcome":
        allowed = this.ref.outcomes;
        break;
      default:
        return;
    }
    if (!allowed.has(value)) {
      const list = [...allowed.keys()].join(", ");
      this.report("ecs_allowed_value", path, `\`${name}\` is "${value}", not one of: ${list}.`);
    }
  }

  /**
   * ECS pairs each category with the types it expects: every type must suit some category, and
   * every category some type. Unknown values were already reported and are left out here.
   */
  checkCategoryTypes(): void {
    const categories = this.categories.filter((c) => this.ref.categories.has(c.value));
    const types = this.types.filter((t) => this.ref.types.has(t.value));
    if (categories.length === 0 || types.length === 0) return;
    const categoryNames = categories.map((c) => c.value).join(", ");
    const typeNames = types.map((t) => t.value).join(", ");
    for (const t of types) {
      if (!categories.some((c) => this.ref.categories.get(c.value)?.has(t.value))) {
        this.report(
          "ecs_category_type",
          t.path,
          `\`event.type\` "${t.value}" is not expected for \`event.category\` ${categoryNames}.`,
        );
      }
    }
    for (const c of categories) {
      const expected = this.ref.categories.get(c.value);
      if (!types.some((t) => expected?.has(t.value))) {
        this.report(
          "ecs_category_type",
          c.path,
          `\`event.category\` "${c.value}" expects one of ${[...(expected ?? [])].join(", ")} in \`event.type\`, got ${typeNames}.`,
        );
      }
    }
  }
}

const INTEGER_RANGES: ReadonlyMap<string, readonly [number, number, string]> = new Map([
  ["long", [Number.MIN_SAFE_INTEGER, Number.MAX_SAFE_INTEGER, "a long (a safe integer)"]],
  // JSON numbers past 2^53 lose precision, so unsigned_long is held to the safe range too.
  ["unsigned_long", [0, Number.MAX_SAFE_INTEGER, "an unsigned_long (a non-negative safe integer)"]],
  ["integer", [-(2 ** 31), 2 ** 31 - 1, "an integer (32-bit)"]],
  ["short", [-(2 ** 15), 2 ** 15 - 1, "a short (16-bit integer)"]],
  ["byte", [-(2 ** 7), 2 ** 7 - 1, "a byte (8-bit integer)"]],
]);

const STRING_TYPES: ReadonlySet<string> = new Set([
  "keyword",
  "constant_keyword",
  "wildcard",
  "text",
  "match_only_text",
]);

const FLOAT_TYPES: ReadonlySet<string> = new Set(["float", "half_float", "scaled_float", "double"]);

/** What the value should have been, or undefined when it fits `type` (unknown types pass). */
function scalarMismatch(type: string, value: unknown): string | undefined {
  if (STRING_TYPES.has(type)) return typeof value === "string" ? undefined : `a string (${type})`;
  const range = INTEGER_RANGES.get(type);
  if (range !== undefined) {
    const [min, max, label] = range;
    return typeof value === "number" && Number.isInteger(value) && value >= min && value <= max
      ? undefined
      : label;
  }
  if (FLOAT_TYPES.has(type)) {
    return typeof value === "number" && Number.isFinite(value) ? undefined : `a finite number (${type})`;
  }
  switch (type) {
    case "boolean":
      return typeof value === "boolean" ? undefined : "a boolean";
    case "date":
      return (typeof value === "string" && isIsoDateTime(value)) ||
        (typeof value === "number" && Number.isSafeInteger(value))
        ? undefined
        : "a date (ISO-8601 date-time with Z or an offset, or epoch milliseconds)";
    case "ip":
      return typeof value === "string" && isIP(value) !== 0 ? undefined : "an IP address string";
    case "geo_point":
      return isGeoPoint(value) ? undefined : "a geo_point ({lat, lon} in range)";
    default:
      return undefined;
  }
}

// Date, hh:mm, optional seconds and fraction (up to nanoseconds), then Z or ±hh:mm / ±hhmm.
const ISO_DATE_TIME =
  /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2})(?:\.\d{1,9})?)?(?:Z|[+-](\d{2}):?(\d{2}))$/;

/** A calendar-valid ISO-8601 date-time that names its offset (a bare local time is ambiguous). */
function isIsoDateTime(value: string): boolean {
  const m = ISO_DATE_TIME.exec(value);
  if (m === null) return false;
  const [year, month, day, hour, minute, second = 0, offHour = 0, offMinute = 0] = m
    .slice(1)
    .map((part) => (part === undefined ? undefined : Number(part)));
  if (year === undefined || month === undefined || day === undefined) return false;
  if (month < 1 || month > 12 || day < 1) return false;
  // Day 0 of the next month is the last day of this one; UTC avoids DST gaps.
  if (day > new Date(Date.UTC(year, month, 0)).getUTCDate()) return false;
  return (hour ?? 0) <= 23 && (minute ?? 0) <= 59 && second <= 59 && offHour <= 23 && offMinute <= 59;
}

function isGeoPoint(value: unknown): boolean {
  if (!isPlainObject(value)) return false;
  const keys = Object.keys(value);
  const { lat, lon } = value;
  return (
    keys.length === 2 &&
    typeof lat === "number" &&
    typeof lon === "number" &&
    Math.abs(lat) <= 90 &&
    Math.abs(lon) <= 180
  );
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== "object" || value === null || Array.isArray(value)) return false;
  const proto: unknown = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

function isScalar(value: unknown): boolean {
  return (
    typeof value === "string" ||
    typeof value === "boolean" ||
    (typeof value === "number" && Number.isFinite(value))
  );
}

function describe(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "an array";
  if (typeof value === "object") return "an object";
  if (typeof value === "number" && !Number.isFinite(value)) return `number ${String(value)}`;
  const text = JSON.stringify(value) ?? String(value);
  return `${typeof value} ${text.length > 40 ? `${text.slice(0, 40)}…` : text}`;
}

function stringList(value: unknown, what: string): string[] {
  if (!Array.isArray(value) || !value.every((v): v is string => typeof v === "string")) {
    throw new Error(`ECS flat fields: \`${what}\` must be a list of strings.`);
  }
  return value;
}

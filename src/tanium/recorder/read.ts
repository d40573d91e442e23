/**
 * @module tanium/recorder/read
 * Recognizes a recorder event (shape A: a string `event` and an object `fields`) and reads it into
 * a typed RecorderEvent, driven by the tables in keys.ts. Throws FieldTypeError when a value has
 * a type the record cannot hold; returns undefined when the object is not a recorder event.
 */
import { FieldTypeError } from "../../errors.ts";
import {
  readBool,
  checkUnmappedDepth,
  readDate,
  readInt,
  readInt64,
  readIp,
  readPort,
  readString,
  readText,
  readUid,
  type ValueKind,
} from "../values.ts";
import {
  ACTOR_KEYS,
  EVENT_KEYS,
  FAMILY_KEYS,
  FAMILY_PREFIXES,
  RECORDER_EVENTS,
  type KeySpec,
  type KeyTable,
  type PrefixSpec,
} from "./keys.ts";
import type { RecorderEvent, RecorderFamily } from "./record.ts";

interface CompiledSpec extends KeySpec {
  /** Writes a read value at the spec's path, creating the nested records on the way. */
  readonly set: (record: RecorderEvent, value: unknown) => void;
}

type CompiledTable = ReadonlyMap<string, CompiledSpec>;
type Node = Record<string, unknown>;

function compile(table: KeyTable): CompiledTable {
  return new Map(Object.entries(table).map(([key, spec]) => [key, { ...spec, set: setter(spec) }]));
}

/** A setter per path, built once: the hot loop does no path walking. */
function setter(spec: KeySpec): (record: RecorderEvent, value: unknown) => void {
  const segments = spec.to.split(".");
  const leaf = segments.pop() as string;
  const onlyIfAbsent = spec.ifAbsent === true;
  return (record, value) => {
    let node = record as unknown as Node;
    for (const segment of segments) node = (node[segment] ??= {}) as Node;
    if (onlyIfAbsent && node[leaf] !== undefined) return;
    node[leaf] = value;
  };
}

interface CompiledPrefix extends PrefixSpec {
  /** Adds one suffix and its value to the map at the spec's path, creating it on first use. */
  readonly add: (record: RecorderEvent, suffix: string, value: string) => void;
}

/** The map at a prefix's path is null-prototype: its keys come from the input. */
function compilePrefix(spec: PrefixSpec): CompiledPrefix {
  const segments = spec.to.split(".");
  return {
    ...spec,
    add(record, suffix, value) {
      let node = record as unknown as Node;
      for (const segment of segments) {
        node = (node[segment] ??= Object.create(null) as Node) as Node;
      }
      node[suffix] = value;
    },
  };
}

// Tables are shared between families (library and driver), so each is compiled once.
const compiledTables = new Map<KeyTable, CompiledTable>();
function compileOnce(table: KeyTable): CompiledTable {
  let compiled = compiledTables.get(table);
  if (compiled === undefined) {
    compiled = compile(table);
    compiledTables.set(table, compiled);
  }
  return compiled;
}

const COMPILED = Object.fromEntries(
  Object.entries(FAMILY_KEYS).map(([family, table]) => [family, compileOnce(table)]),
) as Readonly<Record<RecorderFamily, CompiledTable>>;
const COMPILED_BY_NAME: ReadonlyMap<string, CompiledTable> = new Map(
  Object.entries(EVENT_KEYS).map(([name, table]) => [name, compileOnce(table)]),
);
const COMPILED_PREFIXES: ReadonlyMap<RecorderFamily, CompiledPrefix> = new Map(
  Object.entries(FAMILY_PREFIXES).map(([family, spec]) => [family as RecorderFamily, compilePrefix(spec)]),
);
const UNKNOWN_EVENT_KEYS = compile(ACTOR_KEYS);

export function isRecorderShape(value: Readonly<Record<string, unknown>>): boolean {
  return value.event !== undefined;
}

export function readRecorderEvent(value: Readonly<Record<string, unknown>>, rawText: string): RecorderEvent {
  const name = value.event;
  if (typeof name !== "string" || name === "") throw new FieldTypeError("event", "a non-empty string", name);
  const fields = value.fields ?? {};
  if (typeof fields !== "object" || fields === null || Array.isArray(fields)) {
    throw new FieldTypeError("fields", "an object", fields);
  }
  const family = Object.hasOwn(RECORDER_EVENTS, name) ? RECORDER_EVENTS[name] : undefined;
  const record: RecorderEvent = {
    shape: "recorder",
    name,
    family,
    hostname: readString(value.hostname, "hostname"),
    hostIp: readIp(value.host, "host"),
    computerId: readInt64(value.tanium_computer_id, "tanium_computer_id", "tanium_computer_id", rawText),
    timestamp: readDate(value.timestamp, "timestamp"),
    process: {},
    login: {},
    file: {},
    connection: {},
    dns: {},
    registry: {},
    image: {},
    windows: {},
    unmapped: undefined,
    unmappedKeys: [],
  };
  const table = family === undefined ? UNKNOWN_EVENT_KEYS : (COMPILED_BY_NAME.get(name) ?? COMPILED[family]);
  const prefix = family === undefined ? undefined : COMPILED_PREFIXES.get(family);
  const raw = fields as Record<string, unknown>;
  // for-in is safe here: a JSON.parse object has only own, plain members.
  for (const key in raw) {
    const item = raw[key];
    const spec = table.get(key);
    if (spec === undefined) {
      if (prefix === undefined || !readPrefixed(record, prefix, key, item)) keepUnmapped(record, key, item);
      continue;
    }
    const typed = readValue(spec.kind, item, `fields.${key}`, key, rawText);
    if (typed !== undefined) spec.set(record, typed);
  }
  return record;
}

function readValue(kind: ValueKind, value: unknown, field: string, key: string, rawText: string): unknown {
  switch (kind) {
    case "string":
      return readString(value, field);
    case "text":
      return readText(value, field);
    case "int":
      return readInt(value, field);
    case "port":
      return readPort(value, field);
    case "ip":
      return readIp(value, field);
    case "date":
      return readDate(value, field);
    case "bool":
      return readBool(value, field);
    case "int64":
      return readInt64(value, field, key, rawText);
    case "uid":
      return readUid(value, field);
  }
}

/**
 * A prefixed key with a scalar value goes into the prefix's map as text (Windows EventData is
 * text; a sender may still write numbers). Null is no value. Anything else, or the bare prefix,
 * is left to the caller to keep unmapped: nothing is dropped, and no object enters the map.
 */
function readPrefixed(record: RecorderEvent, prefix: CompiledPrefix, key: string, value: unknown): boolean {
  if (key.length <= prefix.prefix.length || !key.startsWith(prefix.prefix)) return false;
  if (value === null) return true;
  if (typeof value === "string") prefix.add(record, key.slice(prefix.prefix.length), value);
  else if (typeof value === "number" || typeof value === "boolean") {
    prefix.add(record, key.slice(prefix.prefix.length), String(value));
  } else return false;
  return true;
}

function keepUnmapped(record: RecorderEvent, key: string, value: unknown): void {
  checkUnmappedDepth(`fields.${key}`, value);
  // A null-prototype object: no key of the input can reach Object.prototype through it.
  record.unmapped ??= Object.create(null) as Record<string, unknown>;
  record.unmapped[key] = value;
  record.unmappedKeys.push(key);
}

/**
 * @module tanium/recorder/keys
 * The recorder's event names and, per family, which `fields` key holds what and of which type.
 * Pure data: the reader walks an event's keys once and looks each one up here. Key names and
 * types are those of events.md §2.2–2.3 (C = seen in a raw sample, P = named by a parser).
 */
import type { ValueKind } from "../values.ts";
import type { RecorderFamily } from "./record.ts";

/** Where a key's value goes in the RecorderEvent record, and how to read it. */
export interface KeySpec {
  /** Dotted path in the record, e.g. `process.parent.pid`. */
  readonly to: string;
  readonly kind: ValueKind;
  /** Set only when another key has not already filled the same slot. */
  readonly ifAbsent?: boolean;
}

export type KeyTable = Readonly<Record<string, KeySpec>>;

/** Keys named by a prefix and a free suffix (`event__TargetUserName`), kept in a map at `to`. */
export interface PrefixSpec {
  readonly prefix: string;
  /** Dotted path in the record of the null-prototype map the suffixes go into. */
  readonly to: string;
}

/** The 13 confirmed recorder event names (events.md §1.1) and their families. */
export const CONFIRMED_EVENTS: Readonly<Record<string, RecorderFamily>> = {
  process_start: "process",
  file_open: "file",
  file_create: "file",
  file_write: "file",
  file_delete: "file",
  file_move: "file",
  file_permission_change: "file",
  network_connect: "network",
  network_accept: "network",
  network_disconnect: "network",
  dns_event: "dns",
  registry_create: "registry",
  registry_set: "registry",
};

/**
 * Names the recorder is documented to capture but that no public sample or parser confirms
 * (events.md §1.2, TAN-REC, XSOAR-API), with the spelling variants §1.2 suggests. All INFERRED:
 * a name that never comes costs nothing, one that comes under another spelling stays an
 * uncategorized document with its keys under `tanium.fields`.
 */
export const INFERRED_EVENTS: Readonly<Record<string, RecorderFamily>> = {
  process_end: "process",
  process_exit: "process",
  process_stop: "process",
  registry_delete: "registry",
  registry_key_delete: "registry",
  registry_value_delete: "registry",
  image_load: "library",
  library_load: "library",
  driver_load: "driver",
  // The sample's `security_event`; the TR API calls the type Security (XSOAR-API).
  security_event: "security",
  security_log: "security",
  windows_security_event: "security",
};

/** Every event name this version reads, confirmed or inferred, and its family. */
export const RECORDER_EVENTS: Readonly<Record<string, RecorderFamily>> = {
  ...CONFIRMED_EVENTS,
  ...INFERRED_EVENTS,
};

/**
 * The process that did the thing, on every event but `process_start` (C: SEK-T file_open and
 * network_connect). Also read for unknown event names: these keys mean the same everywhere.
 */
export const ACTOR_KEYS: KeyTable = {
  tanium_process_id: { to: "process.entityId", kind: "int64" },
  process__pid: { to: "process.pid", kind: "int" },
  process__file__full_path: { to: "process.executable", kind: "string" },
  process__user__name: { to: "process.userName", kind: "string" },
  process__user__group: { to: "process.groupName", kind: "string" },
  process__login__user_id: { to: "login.id", kind: "uid" },
  process__login__user_name: { to: "login.name", kind: "string" },
};

/** `process_start` describes the started process itself, without the `process__` prefix (C: SEK-T). */
const PROCESS_START_KEYS: KeyTable = {
  tanium_process_id: { to: "process.entityId", kind: "int64" },
  tanium_parent_process_id: { to: "process.parent.entityId", kind: "int64" },
  pid: { to: "process.pid", kind: "int" },
  parent_pid: { to: "process.parent.pid", kind: "int" },
  file__full_path: { to: "process.executable", kind: "string" },
  parent__file__full_path: { to: "process.parent.executable", kind: "string" },
  command_line: { to: "process.commandLine", kind: "string" },
  parent__command_line: { to: "process.parent.commandLine", kind: "string" },
  file__md5: { to: "process.md5", kind: "string" },
  create_time: { to: "process.start", kind: "date" },
  user__name: { to: "process.userName", kind: "string" },
  user__group: { to: "process.groupName", kind: "string" },
  login__user_id: { to: "login.id", kind: "uid" },
  login__user_name: { to: "login.name", kind: "string" },
};

const FILE_KEYS: KeyTable = {
  ...ACTOR_KEYS,
  full_path: { to: "file.fullPath", kind: "string" },
  // file_move: EXA-IM names src_full_path, GCH-TH names dst_full_path (both P).
  src_full_path: { to: "file.srcFullPath", kind: "string" },
  dst_full_path: { to: "file.dstFullPath", kind: "string" },
  permission: { to: "file.permission", kind: "string" },
  read_flag: { to: "file.readFlag", kind: "bool" },
};

const NETWORK_KEYS: KeyTable = {
  ...ACTOR_KEYS,
  local_ip: { to: "connection.localIp", kind: "ip" },
  local_port: { to: "connection.localPort", kind: "port" },
  remote_ip: { to: "connection.remoteIp", kind: "ip" },
  remote_port: { to: "connection.remotePort", kind: "port" },
};

const DNS_KEYS: KeyTable = {
  ...ACTOR_KEYS,
  query: { to: "dns.query", kind: "string" },
  response: { to: "dns.response", kind: "string" },
};

const REGISTRY_KEYS: KeyTable = {
  ...ACTOR_KEYS,
  key: { to: "registry.key", kind: "string" },
  value_name: { to: "registry.valueName", kind: "text" },
  // SEK-P reads the actor's path from `file__full_path` here; accept it when the usual key is absent.
  file__full_path: { to: "process.executable", kind: "string", ifAbsent: true },
};

/** The actor keys, each only where the process_start-style key has not filled the slot. */
const ACTOR_KEYS_IF_ABSENT: KeyTable = Object.fromEntries(
  Object.entries(ACTOR_KEYS).map(([key, spec]) => [key, { ...spec, ifAbsent: true }]),
);

/**
 * A process that ended describes itself (INFERRED, events.md §1.2): as `process_start` does, or
 * with the `process__` keys of the other events, plus the TR API's `exitCode` and `endTime` in
 * the recorder's snake_case. Where both spellings come, the process_start one wins.
 */
const PROCESS_END_KEYS: KeyTable = {
  ...ACTOR_KEYS_IF_ABSENT,
  ...PROCESS_START_KEYS,
  exit_code: { to: "process.exitCode", kind: "int" },
  end_time: { to: "process.end", kind: "date" },
};

/**
 * `image_load` and `driver_load` (INFERRED): the module as `full_path` and `file__md5` (the file
 * keys of the other events), or the TR API's `imagePath`/`imageLoaded` in snake_case, plus its
 * `signed` flag and `signature` text (XSOAR-API); the loading process as everywhere else.
 */
const MODULE_KEYS: KeyTable = {
  ...ACTOR_KEYS,
  full_path: { to: "image.fullPath", kind: "string" },
  image_path: { to: "image.fullPath", kind: "string", ifAbsent: true },
  image_loaded: { to: "image.fullPath", kind: "string", ifAbsent: true },
  file__md5: { to: "image.md5", kind: "string" },
  // The TR API's `hashes` object, flattened as the recorder flattens objects (events.md §0).
  hashes__md5: { to: "image.md5", kind: "string", ifAbsent: true },
  hashes__sha1: { to: "image.sha1", kind: "string" },
  hashes__sha256: { to: "image.sha256", kind: "string" },
  signed: { to: "image.signed", kind: "bool" },
  signature: { to: "image.signature", kind: "string" },
};

/** Windows security-log events: GCH-TH maps `fields.event_id` and `fields.record_id`. */
const SECURITY_KEYS: KeyTable = {
  ...ACTOR_KEYS,
  event_id: { to: "windows.eventId", kind: "int" },
  record_id: { to: "windows.recordId", kind: "int64" },
};

/** The reading table of each family. */
export const FAMILY_KEYS: Readonly<Record<RecorderFamily, KeyTable>> = {
  process: PROCESS_START_KEYS,
  file: FILE_KEYS,
  network: NETWORK_KEYS,
  dns: DNS_KEYS,
  registry: REGISTRY_KEYS,
  library: MODULE_KEYS,
  driver: MODULE_KEYS,
  security: SECURITY_KEYS,
};

/** Event names whose keys differ from their family's table. */
export const EVENT_KEYS: Readonly<Record<string, KeyTable>> = {
  process_end: PROCESS_END_KEYS,
  process_exit: PROCESS_END_KEYS,
  process_stop: PROCESS_END_KEYS,
};

/**
 * Keys read by prefix: GCH-TH names Windows EventData as `fields.event__<Name>`
 * (`event__SubjectUserName`, `event__NewProcessName`, …), one key per EventData item.
 */
export const FAMILY_PREFIXES: Readonly<Partial<Record<RecorderFamily, PrefixSpec>>> = {
  security: { prefix: "event__", to: "windows.data" },
};

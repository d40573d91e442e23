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

/** The 13 confirmed recorder event names (events.md §1.1) and their families. */
export const RECORDER_EVENTS: Readonly<Record<string, RecorderFamily>> = {
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

/** The reading table of each family; `process_start` is the only process event confirmed. */
export const FAMILY_KEYS: Readonly<Record<RecorderFamily, KeyTable>> = {
  process: PROCESS_START_KEYS,
  file: FILE_KEYS,
  network: NETWORK_KEYS,
  dns: DNS_KEYS,
  registry: REGISTRY_KEYS,
};

/**
 * @module tanium/recorder/record
 * Typed records of what a Tanium recorder event says (shape A, events.md §2), in Tanium's terms
 * and independent of any output schema: the ECS mappers (and a later OCSF one) read these.
 */

/** The event families of the recorder; each has one reading table and one mapper per schema. */
export type RecorderFamily =
  "process" | "file" | "network" | "dns" | "registry" | "library" | "driver" | "security";

export interface ProcessRecord {
  pid?: number;
  /** Full path of the executable (`file__full_path`, `process__file__full_path`). */
  executable?: string;
  commandLine?: string;
  /** `tanium_process_id`: a signed 64-bit decimal, kept as text. */
  entityId?: string;
  md5?: string;
  /** `create_time`, in UTC. */
  start?: string;
  /** `process_end` (INFERRED, events.md §1.2: the TR API's `endTime`, `exitCode`): when it ended, in UTC. */
  end?: string;
  exitCode?: number;
  /** The account the process runs as, and its group. */
  userName?: string;
  groupName?: string;
  parent?: ParentProcessRecord;
}

export interface ParentProcessRecord {
  pid?: number;
  executable?: string;
  commandLine?: string;
  entityId?: string;
}

/** The login (audit) user of the session the process belongs to. */
export interface LoginRecord {
  /** As sent; 4294967295 is Linux's "no login uid". */
  id?: string;
  name?: string;
}

export interface FileRecord {
  fullPath?: string;
  /** `file_move`: where the file came from and where it went. */
  srcFullPath?: string;
  dstFullPath?: string;
  /** `file_permission_change`: the new permission, format unconfirmed (events.md §7). */
  permission?: string;
  /** `file_open`: set when the file was opened for reading. */
  readFlag?: boolean;
}

export interface ConnectionRecord {
  localIp?: string;
  localPort?: number;
  remoteIp?: string;
  remotePort?: number;
}

export interface DnsRecord {
  query?: string;
  /** The resolver's answer as sent: an address, a list, or `[unresolved]`. */
  response?: string;
}

export interface RegistryRecord {
  /** The full key path including the hive, in whatever spelling the endpoint used. */
  key?: string;
  valueName?: string;
}

/**
 * The module of an `image_load` (a library) or `driver_load` (a driver) event, INFERRED from the
 * TR API's Image and Driver records (`imagePath`, `imageLoaded`, `hashes`, `signature`, `signed`).
 */
export interface ModuleRecord {
  fullPath?: string;
  md5?: string;
  sha1?: string;
  sha256?: string;
  /** Whether the module carries a signature; nothing says the signature was checked. */
  signed?: boolean;
  /** The signature as text, in the sample the signer's name. */
  signature?: string;
}

/**
 * A Windows security-log event as the recorder flattens it (INFERRED name, keys from GCH-TH):
 * `event_id`, `record_id` and each EventData item as `event__<Name>`.
 */
export interface WindowsEventRecord {
  /** The Windows event id (4624). */
  eventId?: number;
  /** The record number in the event log: an unsigned 64-bit counter, kept as text. */
  recordId?: string;
  /** EventData by Windows name (`TargetUserName`), values as sent (text, `-` for none), null-prototype. */
  data?: Record<string, string>;
}

export interface RecorderEvent {
  /** Which Tanium shape this record was read from (events.md §0): A, the recorder stream. */
  readonly shape: "recorder";
  /** The Tanium event name, as sent (`process_start`). */
  name: string;
  /** Undefined for an event name this version does not know. */
  family: RecorderFamily | undefined;
  hostname?: string;
  /** Top-level `host`: the address the event was reported with. */
  hostIp?: string;
  computerId?: string;
  /** Top-level `timestamp`, in UTC. */
  timestamp?: string;
  process: ProcessRecord;
  login: LoginRecord;
  file: FileRecord;
  connection: ConnectionRecord;
  dns: DnsRecord;
  registry: RegistryRecord;
  image: ModuleRecord;
  windows: WindowsEventRecord;
  /** Keys of `fields` no reading table claims, with their values (a null-prototype object). */
  unmapped: Record<string, unknown> | undefined;
  unmappedKeys: string[];
}

/**
 * @module tanium/alert/record
 * Typed records of what a Threat Response alert says (shape B, events.md §3), in Tanium's terms
 * and independent of any output schema: the ECS mapper (and a later OCSF one) read these.
 */

/** B2 "Match Alerts Raw" (Connect source "Tanium Detect") or B1 `detect.match`/`detect.unmatch`. */
export type AlertGeneration = "match_alerts_raw" | "legacy";

/**
 * `match`: a match was found (B2 rows, B1 `detect.match`). `unmatch`: B1 `detect.unmatch`, whose
 * meaning Tanium does not document (events.md §1.3, §7); read as "the match no longer holds".
 * `intel_created`/`intel_modified`: B1 `detect.service.intel.created`/`.modified`, a console
 * user's change to an intel definition, no detection (connect-exports.md §6).
 * `other`: a B1 `Event Name` this version does not know.
 */
export type AlertPhase = "match" | "unmatch" | "intel_created" | "intel_modified" | "other";

export interface AlertUser {
  name?: string;
  domain?: string;
  /** A SID or a numeric uid, as text. */
  id?: string;
  groupId?: string;
}

/** `signature_data` (events.md §3.3); `status` codes (1, 11 seen) are undocumented, kept as sent. */
export interface SignatureRecord {
  subject?: string;
  issuer?: string;
  status?: string;
}

export interface AlertProcessRecord {
  pid?: number;
  ppid?: number;
  /** `name` as sent: a bare name, or a full path (sample: `/usr/bin/mv`). */
  name?: string;
  /** `file.fullpath` (match) / `file.file.path` (finding). */
  executable?: string;
  /** `args` (match) / `arguments` (finding): the whole command line as one string. */
  commandLine?: string;
  /** `cwd` (EXA-TR). */
  workingDirectory?: string;
  /** `recorder_unique_id` / `tanium_unique_id`: the recorder's 64-bit process id, as text. */
  uniqueId?: string;
  /** `tanium_recorder_table_id` / `recorder_table_id`: a recorder table row, not an identity. */
  tableId?: string;
  start?: string;
  md5?: string;
  sha1?: string;
  sha256?: string;
  /** `user` (`DOMAIN\name`, split) or `user.user` {name, domain, user_id, group_id}. */
  user?: AlertUser;
  signature?: SignatureRecord;
}

/** The process an alert is about, with its ancestors (`parent`, `parent.parent`, …). */
export interface ProcessChainRecord {
  process: AlertProcessRecord;
  /** `ancestors[0]` is the parent; at most MAX_ANCESTRY_DEPTH entries. */
  ancestors: AlertProcessRecord[];
  /** Set when the input went deeper than MAX_ANCESTRY_DEPTH and the rest was not read. */
  truncated: boolean;
}

export interface FileArtifactRecord {
  path?: string;
  md5?: string;
  sha1?: string;
  sha256?: string;
  /** `size` (match, `"69"`) / `size_bytes` (finding, `"79"` or `{}`). */
  size?: number;
  /** `modification_time`. */
  modified?: string;
  magicNumberHex?: string;
  signature?: SignatureRecord;
}

/** A `port` match (events.md §3.3): the endpoint's side (`local_*`) and the peer (`remote_*`). */
export interface PortArtifactRecord {
  localIp?: string;
  localPort?: number;
  remoteIp?: string;
  remotePort?: number;
  connectionTime?: string;
}

/**
 * The recorder event behind a match: `match.contexts[]` (camelCase) or
 * `relevant_actions[].tanium_recorder_context` (snake_case) plus the action's own keys.
 */
export interface RecorderContextRecord {
  uniqueEventId?: string;
  /** `timestampMs` / `timestamp_ms` (epoch ms as text), or the action's `timestamp`. */
  timestamp?: string;
  /** `fileCreate.path` / `file_create.path`. */
  fileCreatePath?: string;
  /** `relevant_actions[].verb`: undocumented code (6 seen with a file create). */
  verb?: number;
  eventTableId?: string;
}

export interface SystemInfoRecord {
  /** `os`, with the embedded quotes some endpoints send removed (`"\"Ubuntu 22.04.4 LTS\""`). */
  os?: string;
  /** `platform` as sent: `Windows`, `Linux`, … */
  platform?: string;
  bits?: number;
  patchLevel?: string;
  buildNumber?: string;
  loggedOnUser?: string;
}

/** `finding.intel_id`: `<intel id>:<revision>:<uuid>` (`135:1:7b89ac35-…`). */
export interface IntelReference {
  id?: string;
  revision?: string;
  uuid?: string;
}

export interface FindingRecord {
  id?: string;
  /** One id or a comma list, as sent. */
  threatId?: string;
  huntId?: string;
  reportingId?: string;
  domain?: string;
  sourceName?: string;
  typeId?: string;
  description?: string;
  intel?: IntelReference;
  firstSeen?: string;
  lastSeen?: string;
  system?: SystemInfoRecord;
  /** `whats[].intel_intra_ids[].id` / `.id_v2`, as text. */
  intelIntraIds: string[];
}

/** The decoded payload (B1) / `Match Details` (B2), read once. */
export interface MatchRecord {
  /** `match.type` in lower case: `process`, `file`, `port`, or another value as sent. */
  type?: string;
  source?: string;
  hash?: string;
  version?: number;
  intelId?: string;
  configId?: string;
  configRevId?: string;
  /** The matched process (process match), the port's process (port match), else the acting one. */
  process?: ProcessChainRecord;
  /** The matched file (file match), else the target file of the first relevant action. */
  file?: FileArtifactRecord;
  port?: PortArtifactRecord;
  context?: RecorderContextRecord;
  finding: FindingRecord;
  isIntelTarget?: boolean;
  /** Every MD5/SHA-1/SHA-256 anywhere in the match and the finding's artifacts, once each. */
  hashes: string[];
}

export interface IntelRecord {
  /** `Intel Id` (B2), else the payload's `intel_id`; text (a keyword). */
  id?: string;
  /** `Intel Name` (B2) / `name` (B1). */
  name?: string;
  /** `Intel Type` (B2) / `type` (B1), as sent (`openioc`, `tanium-signal 1.0`). */
  type?: string;
  /** `Intel Source` (B2, SEN) / `source` (B1: `Tanium Signals`). */
  source?: string;
  /** `Intel Labels`: a comma list, split and trimmed. */
  labels: string[];
}

export interface MitreRecord {
  /** Technique ids (`T1027`, `T1059.001`), upper case, valid ones only. */
  techniques: string[];
  /** The column as sent, when it could not be read as a JSON array of ids. */
  unparsed?: string;
}

export interface AlertRecord {
  /** Which Tanium shape this record was read from (events.md §0): B, a Threat Response alert. */
  readonly shape: "alert";
  generation: AlertGeneration;
  phase: AlertPhase;
  /** B1 `Event Name` as sent. */
  eventName?: string;
  /** `Alert Id` (B2) / `Event Id` (B1). */
  id?: string;
  timestamp?: string;
  computerName?: string;
  /** `Computer IP` when it is an address. */
  computerIp?: string;
  /** `Computer IP` as sent when it is not an address (`N/A`, SEN). */
  computerIpText?: string;
  /** `EID` (SEN, GCH-TR; meaning undocumented). */
  eid?: string;
  intel: IntelRecord;
  /** B1 `Priority` / `Severity` as sent (only `high` / `info` seen, events.md §7). */
  priority?: string;
  severity?: string;
  /** B1 `User Domain` / `User Id` / `User Name`, empty ones dropped. */
  user: AlertUser;
  mitre: MitreRecord;
  /** `Impact Score` (number or numeric text; `""` is none). */
  impactScore?: number;
  /** `Impact Score` as sent when it is not a number. */
  impactScoreText?: string;
  link?: string;
  /** The payload / `Match Details`, when the alert has one. */
  match?: MatchRecord;
  /** The whole details object, copied with null prototypes and cut at 20 levels (details.ts). */
  details?: Record<string, unknown>;
  /** Where the details copy was cut (dotted paths); the cut values are kept as JSON text. */
  detailsTruncated?: string[];
  /** `Other Parameters` pairs beyond name/source/type/payload (null-prototype). */
  otherParameters?: Record<string, string>;
  /** `__proto__`-like keys removed from a payload decoded here. */
  unsafeKeys: number;
}

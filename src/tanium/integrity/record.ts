/**
 * @module tanium/integrity/record
 * What an Integrity Monitor row says (shape D, events.md §0.1D, §4): Connect's columns `Computer
 * Name`, `File Path`, `Change Type`, `Process Path`, `User`, `Detail`, `Hash`, `Event Time` (XSIAM),
 * sent as JSON or as syslog key=value pairs (EXA-IM). In Tanium's terms, independent of any
 * output schema.
 */

/**
 * The change types EXA-IM's syslog parsers name (`Write`, `CreateNewFile`, `DeletePath`,
 * `RenamePath`, `FilePermissionChange`, `FileOwnershipChange`), by what they do.
 */
export type IntegrityChange = "write" | "create" | "delete" | "rename" | "permission" | "ownership";

export interface IntegrityRecord {
  /** Which Tanium shape this record was read from (events.md §0): D, Integrity Monitor. */
  readonly shape: "integrity";
  /** `Computer Name`: the endpoint. */
  computerName?: string;
  /** `File Path`: the watched path that changed, native separators. */
  path?: string;
  /**
   * Whether the path names a registry key rather than a file: Tanium's IM sensor column is "file
   * (or registry) path" (docs.tanium.com integrity_monitor events page, events.md §4).
   */
  pathKind: "file" | "registry";
  /** `Change Type` as sent. */
  changeType?: string;
  /** What the change type means; undefined for a change type this version does not know. */
  change: IntegrityChange | undefined;
  /** `Process Path`: the executable that made the change. */
  processPath?: string;
  /** `User` as sent (`CONTOSO\svc_backup`), and split at the backslash. */
  user?: string;
  userName?: string;
  userDomain?: string;
  /** `Detail` as sent; its format is not documented. */
  detail?: string;
  /** `Hash` by its length (XSIAM: MD5 or SHA-256 in the same column; SHA-1 by analogy). */
  md5?: string;
  sha1?: string;
  sha256?: string;
  /** `Hash` as sent when it is none of those. */
  hashText?: string;
  /** `Event Time` in UTC, when it is a time. */
  eventTime?: string;
  /** `Event Time` as sent when it is not a time (XSIAM: the column can hold a description). */
  eventTimeText?: string;
  /** Columns no reader claims, as spelled, with their values (a null-prototype object). */
  unmapped: Record<string, unknown> | undefined;
  unmappedKeys: string[];
}

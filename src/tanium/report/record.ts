/**
 * @module tanium/report/record
 * What a saved-question report row says (connect-exports.md §5): one answer row of an Interact
 * question, whose columns are the question's own sensors, and `Count`, how many endpoints gave
 * that row. The well-known sensor columns are read; every column is kept as sent.
 */
import type { OsDescription } from "../os.ts";

export interface ReportRecord {
  /** Which Tanium shape this record was read from: a saved-question report. */
  readonly shape: "report";
  /** Every column as sent (keys and values; a null-prototype object). */
  columns: Record<string, unknown>;
  /** `Computer Name`. */
  computerName?: string;
  /** `OS Platform` (`Windows`, `Linux`, `Mac`), `Operating System` (`Microsoft Windows Server 2022 Datacenter`). */
  osPlatform?: string;
  operatingSystem?: string;
  /** What the two say, by the OS parser the alerts use. */
  os?: OsDescription;
  /** `IP Address`, `MAC Address`: every address the answer lists (MACs in ECS form). */
  ips: string[];
  macs: string[];
  manufacturer?: string;
  model?: string;
  serialNumber?: string;
  /** `Logged In Users` and `Last Logged In User`, each name once. */
  users: string[];
  /** `Tanium Client Version` when it is a version number. */
  clientVersion?: string;
  /** `Count`: endpoints that gave this answer row (more than 1: a merged row). */
  count?: number;
  /** Columns that are not among the well-known ones, as spelled (kept in `columns`). */
  unmappedKeys: string[];
}

/**
 * @module tanium/shapes
 * Which of Tanium Connect's shapes a decoded object is (events.md §0 and §6.1), and its reading
 * into a typed record. Tanium knowledge only: what the records become (ECS, later OCSF) is the
 * business of the schema modules. One row per shape; the first whose `detect` says yes reads it,
 * so a shape with a sharper test comes before a looser one.
 */
import { isActionShape, readActionRow } from "./action/read.ts";
import type { ActionRecord } from "./action/record.ts";
import { isAlertShape, readAlert } from "./alert/read.ts";
import type { AlertRecord } from "./alert/record.ts";
import { isAuditShape, readAuditRow } from "./audit/read.ts";
import type { AuditRecord } from "./audit/record.ts";
import { isClientStatusShape, readClientStatusRow } from "./client-status/read.ts";
import type { ClientStatusRecord } from "./client-status/record.ts";
import { isDiscoverShape, readDiscoverRow } from "./discover/read.ts";
import type { DiscoverRecord } from "./discover/record.ts";
import { isEndpointConfigShape, readEndpointConfigRow } from "./endpoint-config/read.ts";
import type { EndpointConfigRecord } from "./endpoint-config/record.ts";
import { isIntegrityShape, readIntegrityRow } from "./integrity/read.ts";
import type { IntegrityRecord } from "./integrity/record.ts";
import { isRecorderShape, readRecorderEvent } from "./recorder/read.ts";
import type { RecorderEvent } from "./recorder/record.ts";
import { isReportShape, readReportRow } from "./report/read.ts";
import type { ReportRecord } from "./report/record.ts";

/** Everything a Tanium line can be read into; `shape` tells them apart. */
export type TaniumRecord =
  | RecorderEvent
  | AlertRecord
  | AuditRecord
  | IntegrityRecord
  | ActionRecord
  | ClientStatusRecord
  | DiscoverRecord
  | EndpointConfigRecord
  | ReportRecord;

export type ShapeName = TaniumRecord["shape"];

export interface ShapeReader {
  readonly shape: ShapeName;
  /** Cheap key test on the decoded object; no value is read here. */
  detect(value: Readonly<Record<string, unknown>>): boolean;
  /**
   * The typed record. `source` is the whole raw line, where exact digits of 64-bit numbers are
   * read back from. Throws `FieldTypeError` for a value of the wrong type.
   */
  read(value: Readonly<Record<string, unknown>>, source: string): TaniumRecord;
}

export const SHAPES: readonly ShapeReader[] = [
  // A: `{"event": …, "fields": {…}}`.
  { shape: "recorder", detect: isRecorderShape, read: readRecorderEvent },
  // B1/B2: `Alert Id`/`Match Details` or `Event Name`/`Other Parameters`, any spelling; alert
  // rows have no `event` key, so the recorder row's test never takes them.
  { shape: "alert", detect: isAlertShape, read: readAlert },
  // C: `table` + `action` (+ `createdAt` or `state`), Threat Response audit rows.
  { shape: "audit", detect: isAuditShape, read: readAuditRow },
  // The other Connect exports (connect-exports.md), each by two keys of its own. Endpoint
  // configuration has `action` but no `table`, so it comes after the audit row's test.
  { shape: "endpoint_config", detect: isEndpointConfigShape, read: readEndpointConfigRow },
  { shape: "action", detect: isActionShape, read: readActionRow },
  { shape: "client_status", detect: isClientStatusShape, read: readClientStatusRow },
  { shape: "discover", detect: isDiscoverShape, read: readDiscoverRow },
  // D: a `Change Type` or `File Path` column in any spelling (JSON or syslog key=value): the
  // loosest key test.
  { shape: "integrity", detect: isIntegrityShape, read: readIntegrityRow },
  // A saved-question report: no key of its own (its columns are the question's), recognized by
  // its column style (`Computer Name`: spaced headers, scalar values) when nothing above matched.
  { shape: "report", detect: isReportShape, read: readReportRow },
];

/** The record for a decoded object, or undefined when it is none of Tanium's shapes. */
export function readTanium(
  value: Readonly<Record<string, unknown>>,
  source: string,
): TaniumRecord | undefined {
  for (const reader of SHAPES) if (reader.detect(value)) return reader.read(value, source);
  return undefined;
}

/**
 * @module tanium/shapes
 * Which of Tanium Connect's shapes a decoded object is (events.md §0 and §6.1), and its reading
 * into a typed record. Tanium knowledge only: what the records become (ECS, later OCSF) is the
 * business of the schema modules. One row per shape; the first whose `detect` says yes reads it,
 * so a shape with a sharper test comes before a looser one.
 */
import { isAlertShape, readAlert } from "./alert/read.ts";
import type { AlertRecord } from "./alert/record.ts";
import { isAuditShape, readAuditRow } from "./audit/read.ts";
import type { AuditRecord } from "./audit/record.ts";
import { isIntegrityShape, readIntegrityRow } from "./integrity/read.ts";
import type { IntegrityRecord } from "./integrity/record.ts";
import { isRecorderShape, readRecorderEvent } from "./recorder/read.ts";
import type { RecorderEvent } from "./recorder/record.ts";

/** Everything a Tanium line can be read into; `shape` tells them apart. */
export type TaniumRecord = RecorderEvent | AlertRecord | AuditRecord | IntegrityRecord;

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
  // D: a `Change Type` or `File Path` column in any spelling (JSON or syslog key=value), last:
  // the loosest test.
  { shape: "integrity", detect: isIntegrityShape, read: readIntegrityRow },
];

/** The record for a decoded object, or undefined when it is none of Tanium's shapes. */
export function readTanium(
  value: Readonly<Record<string, unknown>>,
  source: string,
): TaniumRecord | undefined {
  for (const reader of SHAPES) if (reader.detect(value)) return reader.read(value, source);
  return undefined;
}

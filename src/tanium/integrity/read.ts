/**
 * @module tanium/integrity/read
 * Recognizes an Integrity Monitor row (a `Change Type` or `File Path` column in any spelling,
 * events.md §6.1) and reads it into a typed IntegrityRecord. The same record comes out of the JSON
 * columns (XSIAM) and of the syslog key=value form (EXA-IM), since column names are matched
 * canonically (`File-Path` ≡ `File Path`). Throws FieldTypeError for a value of the wrong type.
 */
import { FieldTypeError } from "../../errors.ts";
import { readDate, toIsoUtc } from "../values.ts";
import { hasColumn, Keyed, unmappedColumns } from "../keys.ts";
import type { IntegrityChange, IntegrityRecord } from "./record.ts";

const DETECT = new Set(["changetype", "filepath"]);

/** The columns read here, canonical (events.md §4: XSIAM's list). */
const KNOWN = new Set([
  "computername",
  "filepath",
  "changetype",
  "processpath",
  "user",
  "detail",
  "hash",
  "eventtime",
]);

/** EXA-IM's change type values, canonical (`CreateNewFile`, `create-new-file` → `createnewfile`). */
const CHANGES: ReadonlyMap<string, IntegrityChange> = new Map([
  ["write", "write"],
  ["createnewfile", "create"],
  ["deletepath", "delete"],
  ["renamepath", "rename"],
  ["filepermissionchange", "permission"],
  ["fileownershipchange", "ownership"],
]);

/**
 * Registry paths in the spellings Windows tools use: the Win32 hive names (`HKEY_…`), their
 * abbreviations and the kernel's `\REGISTRY\…`.
 */
const REGISTRY_PATH = /^(?:HKEY_[A-Z_]+|HKLM|HKCU|HKU|HKCR|HKCC)(?:\\|$)|^\\REGISTRY\\/i;

const HEX = /^[0-9a-fA-F]+$/;

export function isIntegrityShape(value: Readonly<Record<string, unknown>>): boolean {
  return hasColumn(value, DETECT);
}

export function readIntegrityRow(value: Readonly<Record<string, unknown>>): IntegrityRecord {
  const columns = new Keyed(value);
  const path = columns.text("filepath");
  const changeType = columns.text("changetype");
  const record: IntegrityRecord = {
    shape: "integrity",
    computerName: columns.text("computername"),
    path,
    pathKind: path !== undefined && REGISTRY_PATH.test(path) ? "registry" : "file",
    changeType,
    change:
      changeType === undefined ? undefined : CHANGES.get(changeType.toLowerCase().replace(/[\s_-]+/g, "")),
    processPath: columns.text("processpath"),
    detail: columns.text("detail"),
    unmapped: undefined,
    unmappedKeys: [],
  };
  readUser(record, columns.text("user"));
  readHash(record, columns.text("hash"));
  readEventTime(record, columns.get("eventtime"), columns.keyOf("eventtime") ?? "Event Time");
  record.unmapped = unmappedColumns(columns, KNOWN, record.unmappedKeys);
  return record;
}

/** `DOMAIN\name` (the sample's `CONTOSO\svc_backup`) is split; anything else is the name. */
function readUser(record: IntegrityRecord, user: string | undefined): void {
  if (user === undefined) return;
  record.user = user;
  const slash = user.indexOf("\\");
  if (slash > 0 && slash < user.length - 1) {
    record.userDomain = user.slice(0, slash);
    record.userName = user.slice(slash + 1);
  } else {
    record.userName = user;
  }
}

/** XSIAM: `Hash` holds an MD5 (32 hex digits) or a SHA-256 (64); 40 digits is taken for SHA-1. */
function readHash(record: IntegrityRecord, hash: string | undefined): void {
  if (hash === undefined) return;
  if (HEX.test(hash)) {
    const lower = hash.toLowerCase();
    if (hash.length === 32) record.md5 = lower;
    else if (hash.length === 40) record.sha1 = lower;
    else if (hash.length === 64) record.sha256 = lower;
    else record.hashText = hash;
  } else {
    record.hashText = hash;
  }
}

/**
 * `Event Time` is a time in the sample's form (`2024-03-11 09:22:32.001 +0000`, events.md §8 #36,
 * whose format is itself inferred), ISO-8601, or epoch seconds/milliseconds. XSIAM treats a value
 * without `hh:mm:ss` as a description, so text that is not a time is kept, not an error.
 */
function readEventTime(record: IntegrityRecord, value: unknown, field: string): void {
  if (value === undefined || value === null || value === "") return;
  if (typeof value === "string") {
    const iso = toIsoUtc(value.trim());
    if (iso !== undefined) record.eventTime = iso;
    else if (value.trim() !== "") record.eventTimeText = value;
    return;
  }
  if (typeof value === "number") {
    record.eventTime = readDate(value, field);
    return;
  }
  throw new FieldTypeError(field, "a time or a text", value);
}

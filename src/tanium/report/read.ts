/**
 * @module tanium/report/read
 * Recognizes a saved-question report row by its column style, since its columns are whatever the
 * question asks (connect-exports.md §5), and reads it into a typed ReportRecord.
 *
 * The rule (the last in the table of shapes, so a row any other shape recognizes is never taken
 * for a report): every key looks like an Interact column header — it begins with an upper-case
 * letter or a digit and has no `_` (`Computer Name`, `OS Platform`, `Count`; the other exports
 * use snake_case or camelCase keys) — at least one key has a space (a sensor's display name:
 * PascalCase keys alone are another export's), and every value is a scalar (answers are text;
 * `Count` a number). A question with a column another shape is marked by (`Event Name`, `File
 * Path`, `Change Type`) is read as that shape. Values are read leniently: a column of an unexpected type is not mapped but
 * kept as sent, and Interact's placeholders (`[no results]`, `[current result unavailable]`,
 * `TSE-Error: …`) are no value.
 */
import { isIP } from "node:net";
import { ecsMac, splitList } from "../columns.ts";
import { Keyed, MAX_KEYS_PER_OBJECT } from "../keys.ts";
import { describeOs } from "../os.ts";
import type { ReportRecord } from "./record.ts";

const HEADER = /^[A-Z0-9][^_]*$/;

/** The sensor columns read into the record, canonical. */
const KNOWN = new Set([
  "computername",
  "osplatform",
  "operatingsystem",
  "ipaddress",
  "macaddress",
  "manufacturer",
  "model",
  "serialnumber",
  "loggedinusers",
  "lastloggedinuser",
  "taniumclientversion",
  "count",
]);

const VERSION = /^\d+(?:\.\d+){1,3}$/;

export function isReportShape(value: Readonly<Record<string, unknown>>): boolean {
  let n = 0;
  let spaced = false;
  for (const key in value) {
    if (++n > MAX_KEYS_PER_OBJECT || !HEADER.test(key)) return false;
    const item = value[key];
    if (item !== null && typeof item === "object") return false;
    if (key.includes(" ")) spaced = true;
  }
  return spaced;
}

export function readReportRow(value: Readonly<Record<string, unknown>>): ReportRecord {
  const columns = new Keyed(value);
  const all = Object.create(null) as Record<string, unknown>;
  for (const key in value) if (Object.hasOwn(value, key)) all[key] = value[key];
  const record: ReportRecord = {
    shape: "report",
    columns: all,
    computerName: answer(columns.get("computername")),
    osPlatform: answer(columns.get("osplatform")),
    operatingSystem: answer(columns.get("operatingsystem")),
    ips: [],
    macs: [],
    manufacturer: answer(columns.get("manufacturer")),
    model: answer(columns.get("model")),
    serialNumber: answer(columns.get("serialnumber")),
    users: [],
    unmappedKeys: [],
  };
  if (record.osPlatform !== undefined || record.operatingSystem !== undefined) {
    record.os = describeOs({ os: record.operatingSystem, platform: record.osPlatform });
  }
  for (const item of list(columns.get("ipaddress"), /[\s,]+/)) {
    if (isIP(item) !== 0 && !record.ips.includes(item)) record.ips.push(item);
  }
  for (const item of list(columns.get("macaddress"), /[\s,]+/)) {
    const mac = ecsMac(item);
    if (mac !== undefined && !record.macs.includes(mac)) record.macs.push(mac);
  }
  // One user per line or comma (`CORP\jdoe`); names may have spaces.
  for (const column of ["loggedinusers", "lastloggedinuser"]) {
    for (const item of list(columns.get(column), /[,\n]+/)) {
      if (!record.users.includes(item)) record.users.push(item);
    }
  }
  const version = answer(columns.get("taniumclientversion"));
  if (version !== undefined && VERSION.test(version)) record.clientVersion = version;
  const count = columns.get("count");
  if (typeof count === "number" && Number.isSafeInteger(count) && count >= 0) record.count = count;
  else if (typeof count === "string" && /^\d{1,15}$/.test(count.trim())) record.count = Number(count.trim());
  const others = columns.others(KNOWN);
  if (others !== undefined) record.unmappedKeys.push(...Object.keys(others));
  return record;
}

/** Interact's placeholders for "no answer from this endpoint". */
const PLACEHOLDER = /^\[[^\]]*\]$|^TSE-Error:/i;

function answer(value: unknown): string | undefined {
  let text: string;
  if (typeof value === "string") text = value.trim();
  else if (typeof value === "number" || typeof value === "boolean") text = String(value);
  else return undefined;
  return text === "" || PLACEHOLDER.test(text) ? undefined : text;
}

function list(value: unknown, separators: RegExp): string[] {
  const text = answer(value);
  if (text === undefined) return [];
  return splitList(text, "report column", separators).filter((item) => !PLACEHOLDER.test(item));
}

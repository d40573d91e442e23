/**
 * @module tanium/action/read
 * Recognizes a Connect action-history row (`ActionId` with `ActionName`, `Command`, `Issuer`,
 * `PackageName` or `DistributeOver`; connect-exports.md §1) and reads it into a typed
 * ActionRecord. Times come without a zone (`2025-03-04T21:00:00`): they are the Tanium server's
 * clock, which Connect documents as UTC, and are read as UTC. Throws FieldTypeError for a value of
 * the wrong type.
 */
import { countColumns, splitDomainUser } from "../columns.ts";
import { Keyed, unmappedColumns } from "../keys.ts";
import { readDate, readInt, readString } from "../values.ts";
import type { ActionRecord } from "./record.ts";

const ACTION_ID = new Set(["actionid"]);

/** Columns of an action row besides its id; one of them with `ActionId` marks the shape. */
const COMPANIONS = new Set(["actionname", "command", "issuer", "packagename", "distributeover"]);

/** The row's columns, canonical (Elastic's action_history test inputs). */
const KNOWN = new Set([
  "actionid",
  "actionname",
  "command",
  "packagename",
  "issuer",
  "approver",
  "status",
  "distributeover",
  "comment",
  "sourceid",
  "starttime",
  "inserttime",
  "expiration",
]);

export function isActionShape(value: Readonly<Record<string, unknown>>): boolean {
  return countColumns(value, ACTION_ID) > 0 && countColumns(value, COMPANIONS) > 0;
}

export function readActionRow(value: Readonly<Record<string, unknown>>): ActionRecord {
  const columns = new Keyed(value);
  const field = (canonical: string): [unknown, string] => [
    columns.get(canonical),
    columns.keyOf(canonical) ?? canonical,
  ];
  const text = (canonical: string): string | undefined => {
    const raw = readString(...field(canonical))?.trim();
    return raw === "" ? undefined : raw;
  };
  const id = readInt(...field("actionid"));
  const record: ActionRecord = {
    shape: "action",
    actionId: id === undefined ? undefined : String(id),
    name: text("actionname"),
    command: text("command"),
    packageName: text("packagename"),
    issuer: text("issuer"),
    approver: text("approver"),
    status: text("status"),
    distributeOver: text("distributeover"),
    comment: text("comment"),
    sourceId: readInt(...field("sourceid")),
    startTime: readDate(...field("starttime")),
    insertTime: readDate(...field("inserttime")),
    expiration: readDate(...field("expiration")),
    unmapped: undefined,
    unmappedKeys: [],
  };
  if (record.issuer !== undefined) {
    const { name, domain } = splitDomainUser(record.issuer);
    record.issuerName = name;
    if (domain !== undefined) record.issuerDomain = domain;
  }
  if (record.approver !== undefined) record.approverName = splitDomainUser(record.approver).name;
  record.unmapped = unmappedColumns(columns, KNOWN, record.unmappedKeys);
  return record;
}

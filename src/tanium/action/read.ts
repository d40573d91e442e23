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
import { commandLineArgs } from "../platform.ts";
import { readDate, readInt } from "../values.ts";
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
  const id = readInt(...columns.field("actionid"));
  const record: ActionRecord = {
    shape: "action",
    actionId: id === undefined ? undefined : String(id),
    name: columns.text("actionname"),
    command: columns.text("command"),
    packageName: columns.text("packagename"),
    issuer: columns.text("issuer"),
    approver: columns.text("approver"),
    status: columns.text("status"),
    distributeOver: columns.text("distributeover"),
    comment: columns.text("comment"),
    sourceId: readInt(...columns.field("sourceid")),
    startTime: readDate(...columns.field("starttime")),
    insertTime: readDate(...columns.field("inserttime")),
    expiration: readDate(...columns.field("expiration")),
    unmapped: undefined,
    unmappedKeys: [],
  };
  if (record.issuer !== undefined) {
    const { name, domain } = splitDomainUser(record.issuer);
    record.issuerName = name;
    if (domain !== undefined) record.issuerDomain = domain;
  }
  if (record.command !== undefined) record.args = commandArgs(record.command);
  if (record.approver !== undefined) record.approverName = splitDomainUser(record.approver).name;
  record.unmapped = unmappedColumns(columns, KNOWN, record.unmappedKeys);
  return record;
}

/**
 * A program that only runs on Windows, besides the drive and UNC paths tanium/platform.ts knows:
 * a backslash inside its name (`..\Tools\run.vbs`; a leading one is the shell's `\ls` idiom), a
 * Windows program or script extension (`cmd.exe`, `run-patch.vbs`, `setup.ps1`), or the bare
 * built-ins `cmd`, `powershell`, `pwsh`.
 */
const WINDOWS_PROGRAM = /.\\|\.(?:exe|com|bat|cmd|vbs|ps1)$|^(?:cmd|powershell|pwsh)$/i;

/**
 * An action's command runs on whichever endpoints it targets, and the row does not say their
 * platform, so the command's program decides: a Windows program (above) is split by
 * CommandLineToArgvW's rules; otherwise tanium/platform.ts's rules apply with the program as the
 * image path (a drive or UNC path is Windows, `/bin/sh` POSIX, else only when both rules agree).
 */
function commandArgs(command: string): string[] | undefined {
  const program = programOf(command);
  const family = WINDOWS_PROGRAM.test(program) ? "windows" : undefined;
  const args = commandLineArgs(command, family, program);
  return args === undefined || args.length === 0 ? undefined : args;
}

/** The first word, unquoted: enough to tell the platform by (not a split). */
function programOf(command: string): string {
  const text = command.trimStart();
  const quote = text[0];
  if (quote === '"' || quote === "'") {
    const end = text.indexOf(quote, 1);
    return end < 0 ? text.slice(1) : text.slice(1, end);
  }
  const blank = text.search(/\s/);
  return blank < 0 ? text : text.slice(0, blank);
}

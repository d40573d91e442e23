/**
 * @module ecs/action
 * A Connect action-history row → one ECS document. An action runs a package's command on
 * endpoints, issued (and approved) by console users: ECS `process` / `start` (a process is
 * started on the endpoints), the issuer as `user.*`, the package as `package.name`. Elastic's
 * integration files these as `host` / `info`; `process` is what lets a detection see the command.
 * Pure: no clock, no I/O.
 * @see https://www.elastic.co/docs/reference/ecs/ecs-allowed-values-event-category#ecs-event-category-process
 */
import type { ActionRecord } from "../../tanium/action/record.ts";
import { frameDocument, finishDocument, present } from "../connect-export.ts";
import type { MapContext, MapResult } from "../context.ts";
import { defined } from "../common/objects.ts";

export const DATASET = "tanium.action_history";

/**
 * `Status` (lower-cased) → ECS `event.outcome`. Connect's statuses (`Open`, `Closed`, `Expired`,
 * `Stopped`) say where the action is in its life, not whether its command worked, so they set
 * none; only a status that names a result does.
 */
const OUTCOMES: ReadonlyMap<string, "success" | "failure"> = new Map([
  ["succeeded", "success"],
  ["success", "success"],
  ["completed", "success"],
  ["failed", "failure"],
  ["failure", "failure"],
]);

export function mapAction(record: ActionRecord, context: MapContext): MapResult {
  const doc = frameDocument(
    record,
    {
      kind: "event",
      category: "process",
      type: "start",
      action: record.name,
      outcome: record.status === undefined ? undefined : OUTCOMES.get(record.status.toLowerCase()),
      dataset: DATASET,
      start: record.startTime,
      end: record.expiration,
    },
    context,
    "Tanium",
  );
  if (record.command !== undefined) {
    doc.process = { command_line: record.command };
    if (record.args !== undefined) {
      doc.process.args = record.args;
      doc.process.args_count = record.args.length;
    }
  }
  const user = defined({ name: record.issuerName, domain: record.issuerDomain });
  if (user !== undefined) doc.user = user;
  if (record.packageName !== undefined) doc.package = { name: record.packageName };

  const action = present({
    id: record.actionId,
    name: record.name,
    issuer: record.issuer,
    approver: record.approver,
    status: record.status,
    distribute_over: record.distributeOver,
    comment: record.comment,
    source_id: record.sourceId,
    insert_time: record.insertTime,
  });
  finishDocument(doc, context, "action", action, record.unmapped, { user: [record.approverName] });
  doc.message = messageOf(record);
  return { doc, unmapped: record.unmappedKeys };
}

/** `CORP\jdoe issued Tanium action 7311 "Distribute Patches - Windows Servers" (package …), status Closed`. */
function messageOf(record: ActionRecord): string {
  let text = `${record.issuer ?? "An unknown user"} issued Tanium action`;
  if (record.actionId !== undefined) text += ` ${record.actionId}`;
  if (record.name !== undefined) text += ` "${record.name}"`;
  if (record.packageName !== undefined) text += ` (package "${record.packageName}")`;
  if (record.approver !== undefined) text += `, approved by ${record.approver}`;
  if (record.status !== undefined) text += `, status ${record.status}`;
  return text;
}

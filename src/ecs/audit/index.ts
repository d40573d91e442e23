/**
 * @module ecs/audit
 * A Threat Response audit row (shape C) → one ECS document. Categorized `configuration`: the row
 * records a Tanium user creating, changing or deleting a Threat Response object (a live
 * connection, a trace connection, intel, a scan or service setting; TAN-TR's list of audited
 * objects, events.md §3.4), which is ECS's "creating, modifying, or deleting the settings or
 * parameters of an application". Elastic's integration uses `host` (ELA), which fits only the
 * connection tables and allows no `creation`/`deletion` type. Pure: no clock, no I/O.
 * @see https://www.elastic.co/docs/reference/ecs/ecs-allowed-values-event-category#ecs-event-category-configuration
 */
import type { AuditRecord } from "../../tanium/audit/record.ts";
import { eventIdentity, eventTime } from "../../tanium/identity.ts";
import type { MapContext, MapResult } from "../context.ts";
import { ECS_VERSION, type EcsDocument, type EcsEndpoint } from "../document.ts";
import { fillRelated } from "../common/related.ts";
import { defined } from "../common/objects.ts";

export const DATASET = "tanium.threat_response_audit";

interface ActionSpec {
  /** ECS `event.type`; every value here is allowed with `configuration`. */
  readonly type: "creation" | "change" | "deletion" | "access" | "info";
  /** The past tense, for the message. */
  readonly verb: string;
}

/** `action` (lower-cased) → ECS type. Only `create` is seen in a sample (ELA); the rest are TAN-TR's verbs. */
export const ACTIONS: Readonly<Record<string, ActionSpec>> = {
  create: { type: "creation", verb: "created" },
  add: { type: "creation", verb: "added" },
  update: { type: "change", verb: "updated" },
  modify: { type: "change", verb: "modified" },
  edit: { type: "change", verb: "edited" },
  delete: { type: "deletion", verb: "deleted" },
  remove: { type: "deletion", verb: "removed" },
};

/**
 * `table` → how the message names the endpoint it is about: a connection goes *to* a host
 * (LiveConnection in ELA, TraceConnections in EXA-CIM2); anything else is *on* it.
 */
const TABLES: Readonly<Record<string, { readonly towards: string }>> = {
  liveconnection: { towards: "to" },
  traceconnections: { towards: "to" },
};

const OBSERVER = { product: "Threat Response", vendor: "Tanium" } as const;

export function mapAudit(record: AuditRecord, context: MapContext): MapResult {
  const actionKey = record.action?.toLowerCase();
  const spec = actionKey !== undefined && Object.hasOwn(ACTIONS, actionKey) ? ACTIONS[actionKey] : undefined;
  const doc: EcsDocument = {
    "@timestamp": eventTime(record, context.prefix) ?? context.receivedAt,
    message: "",
    ecs: { version: ECS_VERSION },
    event: { kind: "event" },
  };
  const event: EcsDocument["event"] = {
    kind: "event",
    category: ["configuration"],
    type: [spec?.type ?? "info"],
  };
  // The action as sent: `create` (ELA). The table is not folded in; it is at tanium.*.table.
  if (record.action !== undefined) event.action = record.action;
  event.module = "tanium";
  event.dataset = DATASET;
  event.id = eventIdentity(record, context.text);
  event.ingested = context.receivedAt;
  if (context.original) event.original = context.text;
  doc.event = event;
  doc.observer = { product: OBSERVER.product, vendor: OBSERVER.vendor };

  // The endpoint the action was aimed at is the event's host: the row is about it, and a pivot on
  // host.name must find the live connections opened to it. Its TR endpoint id (`eid`) is not
  // Tanium's computer id (host.id of recorder events), so it stays at tanium.*.state.
  const host = defined({
    hostname: record.targetHostname,
    name: record.targetHostname,
    ip: record.targetIp === undefined ? undefined : [record.targetIp],
  });
  if (host !== undefined) doc.host = host;
  const user = defined({ id: record.userId, name: record.userName });
  if (user !== undefined) doc.user = user;
  if (record.destination !== undefined) {
    const { address, ip, domain, port } = record.destination;
    const destination: EcsEndpoint = { address };
    if (domain !== undefined) destination.domain = domain;
    if (ip !== undefined) destination.ip = ip;
    if (port !== undefined) destination.port = port;
    doc.destination = destination;
  }

  const audit: Record<string, unknown> = {};
  if (record.id !== undefined) audit.id = record.id;
  if (record.table !== undefined) audit.table = record.table;
  if (record.rowId !== undefined) audit.row_id = record.rowId;
  if (record.revision !== undefined) audit.revision = record.revision;
  if (record.createdAt !== undefined) audit.created_at = record.createdAt;
  if (record.updatedAt !== undefined) audit.updated_at = record.updatedAt;
  // Verbatim keys (`connectionId`, not ELA's `connection_id`): what Tanium sent, searchable as is.
  if (record.state !== undefined) audit.state = record.state;
  if (record.stateText !== undefined) audit.state_text = record.stateText;
  const namespace: NonNullable<EcsDocument["tanium"]> = { threat_response_audit: audit };
  if (record.unmapped !== undefined) namespace.fields = record.unmapped;
  if (context.prefix !== undefined) namespace.envelope = { prefix: context.prefix };
  doc.tanium = namespace;

  fillRelated(doc);
  if (doc.destination?.domain !== undefined) {
    const hosts = ((doc.related ??= {}).hosts ??= []);
    if (!hosts.includes(doc.destination.domain)) hosts.push(doc.destination.domain);
  }
  doc.message = messageOf(record, spec);
  return { doc, unmapped: record.unmappedKeys };
}

/** `Tanium Threat Response audit: tanium created LiveConnection to wks-0042.corp.example.com`. */
function messageOf(record: AuditRecord, spec: ActionSpec | undefined): string {
  const who = record.userName ?? (record.userId === undefined ? "unknown user" : `user ${record.userId}`);
  const verb = spec?.verb ?? `performed ${record.action ?? "an action"} on`;
  let text = `Tanium Threat Response audit: ${who} ${verb} ${record.table ?? "an object"}`;
  if (record.rowId !== undefined) text += ` ${record.rowId}`;
  const target = record.targetHostname ?? record.destination?.address;
  if (target !== undefined) {
    const table = record.table?.toLowerCase();
    const towards = table !== undefined && Object.hasOwn(TABLES, table) ? TABLES[table]?.towards : undefined;
    // After "performed <action> on <table>", a second "on" would read as the same object.
    text += ` ${towards ?? (spec === undefined ? "for" : "on")} ${target}`;
  }
  return text;
}

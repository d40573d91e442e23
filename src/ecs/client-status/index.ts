/**
 * @module ecs/client-status
 * A Connect client-status row → one ECS document of `event.kind: state` (ECS: "the state of an
 * entity at a point in time", which a registration snapshot is), `host` / `info`. The endpoint is
 * `host.*` and, facing its Tanium server, `client.*`; the server it registered with is `server.*`;
 * the Tanium client is `agent.*`. Pure: no clock, no I/O.
 * @see https://www.elastic.co/docs/reference/ecs/ecs-allowed-values-event-kind#ecs-event-kind-state
 */
import type { ClientStatusRecord } from "../../tanium/client-status/record.ts";
import { frameDocument, finishDocument, present } from "../connect-export.ts";
import type { MapContext, MapResult } from "../context.ts";
import { defined } from "../common/objects.ts";

export const DATASET = "tanium.client_status";

export function mapClientStatus(record: ClientStatusRecord, context: MapContext): MapResult {
  const doc = frameDocument(
    record,
    {
      kind: "state",
      category: "host",
      type: "info",
      dataset: DATASET,
    },
    context,
    "Tanium",
  );
  const host = defined({
    hostname: record.hostName,
    name: record.hostName,
    // Tanium's computer id, as recorder events' host.id, so one search finds both.
    id: record.computerId,
    ip: record.clientIp === undefined ? undefined : [record.clientIp],
  });
  if (host !== undefined) doc.host = host;
  doc.agent = defined({ type: "tanium-client", version: record.version });
  if (record.clientIp !== undefined) doc.client = { ip: record.clientIp };
  if (record.serverIp !== undefined) doc.server = { ip: record.serverIp };

  const status = present({
    status: record.status,
    last_registration: record.lastRegistration,
    protocol_version: record.protocolVersion,
    full_version: record.fullVersion,
    valid_key: record.validKey,
    registered_with_tls: record.registeredWithTls,
    client_network_location: record.clientLocationText,
    server_network_location: record.serverLocationText,
    send_state: record.sendState,
    receive_state: record.receiveState,
  });
  finishDocument(doc, context, "client_status", status, record.unmapped, { ip: [record.serverIp] });
  doc.message = messageOf(record);
  return { doc, unmapped: record.unmappedKeys };
}

/** `Tanium client 7.6.2.1218 on fin-lt-0193… (10.44.7.19) registered with 10.0.0.10, status Normal`. */
function messageOf(record: ClientStatusRecord): string {
  let text = "Tanium client";
  if (record.version !== undefined) text += ` ${record.version}`;
  text += ` on ${record.hostName ?? (record.computerId === undefined ? "an unknown endpoint" : `computer ${record.computerId}`)}`;
  const from = record.clientIp ?? record.clientLocationText;
  if (from !== undefined) text += ` (${from})`;
  text += " registered";
  const server = record.serverIp ?? record.serverLocationText;
  if (server !== undefined) text += ` with ${server}`;
  if (record.status !== undefined) text += `, status ${record.status}`;
  return text;
}

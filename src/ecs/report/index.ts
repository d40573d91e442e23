/**
 * @module ecs/report
 * A saved-question report row → one ECS document of `event.kind: state` (an inventory answer of
 * one host, or of several when `Count` > 1), `host` / `info`. The well-known sensor columns go to
 * `host.*`, `device.*`, `agent.*` and `related.user`; every column, known or not, is kept as sent
 * under `tanium.report`, since the question, not Tanium, chooses them. Pure: no clock, no I/O.
 * @see https://www.elastic.co/docs/reference/ecs/ecs-device
 */
import type { ReportRecord } from "../../tanium/report/record.ts";
import { ecsOs, frameDocument, finishDocument } from "../connect-export.ts";
import type { MapContext, MapResult } from "../context.ts";
import { defined } from "../common/objects.ts";

export const DATASET = "tanium.report";

export function mapReport(record: ReportRecord, context: MapContext): MapResult {
  // A report row says nothing of when it was asked: the receive time stands for it.
  const doc = frameDocument(
    record,
    { kind: "state", category: "host", type: "info", dataset: DATASET },
    context,
    "Interact",
  );
  const host = defined({
    hostname: record.computerName,
    name: record.computerName,
    ip: record.ips.length > 0 ? record.ips : undefined,
    mac: record.macs.length > 0 ? record.macs : undefined,
    // The alerts' OS parser: `OS Platform` gives type/platform, `Operating System` full/name/version.
    os: ecsOs(record.os),
  });
  if (host !== undefined) doc.host = host;
  const device = defined({
    manufacturer: record.manufacturer,
    model: record.model === undefined ? undefined : { name: record.model },
    serial_number: record.serialNumber,
  });
  if (device !== undefined) doc.device = device;
  if (record.clientVersion !== undefined)
    doc.agent = { type: "tanium-client", version: record.clientVersion };

  finishDocument(doc, context, "report", record.columns, undefined, { user: record.users });
  doc.message = messageOf(record);
  return { doc, unmapped: record.unmappedKeys };
}

/** `Tanium report: db-02… runs Microsoft Windows Server 2022 Datacenter (Microsoft Corporation Virtual Machine)`. */
function messageOf(record: ReportRecord): string {
  const merged = record.count !== undefined && record.count > 1 ? ` (${record.count} endpoints)` : "";
  const who = record.computerName ?? record.ips[0] ?? "a saved-question answer";
  let text = `Tanium report: ${who}${merged}`;
  const os = record.operatingSystem ?? record.osPlatform;
  const hardware = [record.manufacturer, record.model].filter((v) => v !== undefined).join(" ");
  if (os !== undefined) text += ` runs ${os}`;
  if (hardware !== "") text += os === undefined ? ` is a ${hardware}` : ` on ${hardware}`;
  if (os === undefined && hardware === "") {
    const columns = Object.keys(record.columns).length;
    text += `, ${columns} column${columns === 1 ? "" : "s"}`;
  }
  return text;
}

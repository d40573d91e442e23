/**
 * @module ecs/discover
 * A Tanium Discover row → one ECS document of `event.kind: asset` (ECS 9.x: "an inventory
 * record of an asset", which Discover's rows are), `host` / `info`. The asset is `host.*`: both
 * its addresses, its MAC in ECS form, its OS family where `Os` names one; Tanium's computer id
 * only for a managed asset. Pure: no clock, no I/O.
 * @see https://www.elastic.co/docs/reference/ecs/ecs-allowed-values-event-kind#ecs-event-kind-asset
 */
import type { DiscoverRecord } from "../../tanium/discover/record.ts";
import { ecsOs, frameDocument, finishDocument, present } from "../connect-export.ts";
import type { MapContext, MapResult } from "../context.ts";
import { defined } from "../common/objects.ts";

export const DATASET = "tanium.discover";

export function mapDiscover(record: DiscoverRecord, context: MapContext): MapResult {
  const doc = frameDocument(
    record,
    {
      kind: "asset",
      category: "host",
      type: "info",
      dataset: DATASET,
      created: record.createdAt,
    },
    context,
    "Discover",
  );
  const ip: string[] = [];
  for (const address of [record.ip, record.natIp]) {
    if (address !== undefined && !ip.includes(address)) ip.push(address);
  }
  const managed = record.flags.managed !== false;
  const host = defined({
    name: record.hostName,
    // An unmanaged asset's id (if a stale one is sent) is not the id of this asset's client.
    id: managed ? record.taniumComputerId : undefined,
    ip: ip.length > 0 ? ip : undefined,
    mac: record.mac === undefined ? undefined : [record.mac],
    os: ecsOs(record.osDescription),
  });
  if (host !== undefined) doc.host = host;

  const flags: Record<string, boolean> = {};
  for (const [name, value] of Object.entries(record.flags)) flags[name] = value;
  const discover = present({
    id: record.id,
    ip_address: record.ipText,
    nat_ip_address: record.natIpText,
    mac_address: record.macText,
    mac_organization: record.macOrganization,
    tanium_computer_id: record.taniumComputerId,
    os: record.os,
    os_generation: record.osGeneration,
    ports: record.ports.length > 0 ? record.ports : undefined,
    ports_text: record.portsText,
    labels: record.labels,
    locations: record.locations,
    profile: record.profile,
    satellite_dec_id: record.satelliteDecId,
    satellite_name: record.satelliteName,
    ...flags,
    first_managed_at: record.firstManagedAt,
    last_managed_at: record.lastManagedAt,
    last_discovered_at: record.lastDiscoveredAt,
  });
  finishDocument(doc, context, "discover", discover, record.unmapped);
  doc.message = messageOf(record, ip);
  return { doc, unmapped: record.unmappedKeys };
}

/** `Tanium Discover saw printer-3f… (10.44.9.30), unmanaged, open ports 80, 443`. */
function messageOf(record: DiscoverRecord, ip: readonly string[]): string {
  let text = `Tanium Discover saw ${record.hostName ?? ip[0] ?? record.mac ?? "an asset"}`;
  if (record.hostName !== undefined && ip.length > 0) text += ` (${ip.join(", ")})`;
  if (record.flags.managed !== undefined) text += record.flags.managed ? ", managed" : ", unmanaged";
  if (record.ports.length > 0) text += `, open ports ${record.ports.join(", ")}`;
  return text;
}

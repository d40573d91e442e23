/**
 * @module tanium/discover/read
 * Recognizes a Tanium Discover row (two of the columns only Discover sends: `NatIpAddress`,
 * `MacOrganization`, `LastDiscoveredAt`, `Unmanageable`, `CentralizedNmap`, `SatelliteNmap`,
 * `SatelliteDecId`, `FirstManagedAt`, `LastManagedAt`, `OsGeneration`; connect-exports.md §3)
 * and reads it into a typed DiscoverRecord. `IpAddress` and `MacAddress` are no markers: a saved
 * question's `IP Address` and `MAC Address` columns are the same keys canonically. Times are
 * `2025-02-11 14:02:09 +00:00`; many values may be null. Throws FieldTypeError for a value of the
 * wrong type.
 */
import { isIP } from "node:net";
import { countColumns, ecsMac, splitList } from "../columns.ts";
import { Keyed, unmappedColumns } from "../keys.ts";
import { describeOs, type OsDescription } from "../os.ts";
import { readBool, readDate, readInt64, readString } from "../values.ts";
import { DISCOVER_FLAGS, type DiscoverFlag, type DiscoverRecord } from "./record.ts";

const MARKERS = new Set([
  "natipaddress",
  "macorganization",
  "lastdiscoveredat",
  "unmanageable",
  "centralizednmap",
  "satellitenmap",
  "satellitedecid",
  "firstmanagedat",
  "lastmanagedat",
  "osgeneration",
]);

const KNOWN = new Set([
  ...MARKERS,
  ...Object.values(DISCOVER_FLAGS),
  "id",
  "hostname",
  "ipaddress",
  "macaddress",
  "taniumcomputerid",
  "os",
  "ports",
  "labels",
  "locations",
  "profile",
  "satellitename",
  "createdat",
  "updatedat",
]);

const PORT = /^\d{1,5}$/;

/** Open ports read as numbers: a scan finds at most a few hundred; a longer list is also kept as text. */
const MAX_PORTS = 1024;

export function isDiscoverShape(value: Readonly<Record<string, unknown>>): boolean {
  return countColumns(value, MARKERS) >= 2;
}

export function readDiscoverRow(value: Readonly<Record<string, unknown>>, source: string): DiscoverRecord {
  const columns = new Keyed(value);
  const [computerId, computerIdKey] = columns.field("taniumcomputerid");
  const record: DiscoverRecord = {
    shape: "discover",
    id: columns.text("id"),
    hostName: columns.text("hostname"),
    macOrganization: columns.text("macorganization"),
    taniumComputerId: readInt64(computerId, computerIdKey, computerIdKey, source),
    os: columns.text("os"),
    osGeneration: columns.text("osgeneration"),
    ports: [],
    labels: columns.text("labels"),
    locations: columns.text("locations"),
    profile: columns.text("profile"),
    satelliteDecId: columns.text("satellitedecid"),
    satelliteName: columns.text("satellitename"),
    flags: {},
    createdAt: readDate(...columns.field("createdat")),
    updatedAt: readDate(...columns.field("updatedat")),
    firstManagedAt: readDate(...columns.field("firstmanagedat")),
    lastManagedAt: readDate(...columns.field("lastmanagedat")),
    lastDiscoveredAt: readDate(...columns.field("lastdiscoveredat")),
    unmapped: undefined,
    unmappedKeys: [],
  };
  // An address column holding something else is kept as sent, not a failed row: the asset
  // (its name, MAC, ports) is still worth a document.
  const ip = columns.text("ipaddress");
  if (ip !== undefined) {
    if (isIP(ip) !== 0) record.ip = ip;
    else record.ipText = ip;
  }
  const nat = columns.text("natipaddress");
  if (nat !== undefined) {
    if (isIP(nat) !== 0) record.natIp = nat;
    else record.natIpText = nat;
  }
  const mac = columns.text("macaddress");
  if (mac !== undefined) {
    const ecs = ecsMac(mac);
    if (ecs !== undefined) record.mac = ecs;
    else record.macText = mac;
  }
  record.osDescription = discoverOs(record.os);
  readPorts(record, ...columns.field("ports"));
  for (const name of Object.keys(DISCOVER_FLAGS) as DiscoverFlag[]) {
    const flag = readBool(...columns.field(DISCOVER_FLAGS[name]));
    if (flag !== undefined) record.flags[name] = flag;
  }
  record.unmapped = unmappedColumns(columns, KNOWN, record.unmappedKeys);
  return record;
}

/**
 * `Os` is a family (`Linux`, `Windows`) or a product name: family and platform from the OS
 * parser's platform table, `name` the text as sent when it is the family's bare name (no version
 * to split off), else what the parser gives. A text that names no known family says nothing.
 */
function discoverOs(os: string | undefined): OsDescription | undefined {
  if (os === undefined) return undefined;
  const parsed = describeOs({ os, platform: os });
  if (parsed?.family === undefined) return undefined;
  const out: OsDescription = { family: parsed.family, platform: parsed.platform };
  const name = parsed.name ?? (/\d/.test(os) ? undefined : os);
  if (name !== undefined) out.name = name;
  if (parsed.version !== undefined) out.version = parsed.version;
  return out;
}

/** `"80,443,631,9100"` → numbers; a list with anything but ports is also kept as sent. */
function readPorts(record: DiscoverRecord, value: unknown, field: string): void {
  const items = typeof value === "number" ? [String(value)] : splitList(value, field, /[,;\s]+/, MAX_PORTS);
  let clean = items.length < MAX_PORTS;
  for (const item of items) {
    const port = PORT.test(item) ? Number(item) : -1;
    if (port >= 0 && port <= 65535) {
      if (!record.ports.includes(port)) record.ports.push(port);
    } else clean = false;
  }
  if (!clean) record.portsText = readString(value, field);
}

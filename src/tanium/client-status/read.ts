/**
 * @module tanium/client-status/read
 * Recognizes a Connect client-status row (two of its own columns: `LastRegistration`,
 * `ClientNetworkLocation`, `ServerNetworkLocation`, `ProtocolVersion`, `RegisteredWithTLS`,
 * `ValidKey`, `SendState`, `ReceiveState`; connect-exports.md §2) and reads it into a typed
 * ClientStatusRecord. `ComputerId` alone is no marker: a saved question may have a `Computer ID`
 * column. Throws FieldTypeError for a value of the wrong type.
 */
import { isIP } from "node:net";
import { countColumns } from "../columns.ts";
import { Keyed, unmappedColumns } from "../keys.ts";
import { readBool, readDate, readInt, readInt64 } from "../values.ts";
import type { ClientStatusRecord } from "./record.ts";

const MARKERS = new Set([
  "lastregistration",
  "clientnetworklocation",
  "servernetworklocation",
  "protocolversion",
  "registeredwithtls",
  "validkey",
  "sendstate",
  "receivestate",
]);

const KNOWN = new Set([...MARKERS, "computerid", "hostname", "status", "fullversion"]);

/**
 * A Tanium client version: four dotted numbers (`7.6.2.1218`). Elastic's test input has an IP in
 * `FullVersion`; an IPv4-shaped value is taken for an address, so a version whose parts all fit
 * in a byte (`7.4.5.120`) stays under the vendor namespace only.
 */
const VERSION = /^\d+(?:\.\d+){1,3}$/;

export function isClientStatusShape(value: Readonly<Record<string, unknown>>): boolean {
  return countColumns(value, MARKERS) >= 2;
}

export function readClientStatusRow(
  value: Readonly<Record<string, unknown>>,
  source: string,
): ClientStatusRecord {
  const columns = new Keyed(value);
  const [id, idField] = columns.field("computerid");
  const record: ClientStatusRecord = {
    shape: "client_status",
    computerId: readInt64(id, idField, idField, source),
    hostName: columns.text("hostname"),
    status: columns.text("status"),
    lastRegistration: readDate(...columns.field("lastregistration")),
    protocolVersion: readInt(...columns.field("protocolversion")),
    fullVersion: columns.text("fullversion"),
    validKey: readBool(...columns.field("validkey")),
    registeredWithTls: readBool(...columns.field("registeredwithtls")),
    sendState: columns.text("sendstate"),
    receiveState: columns.text("receivestate"),
    unmapped: undefined,
    unmappedKeys: [],
  };
  const version = record.fullVersion;
  if (version !== undefined && VERSION.test(version) && isIP(version) === 0) record.version = version;
  const client = columns.text("clientnetworklocation");
  if (client !== undefined) {
    if (isIP(client) !== 0) record.clientIp = client;
    else record.clientLocationText = client;
  }
  const server = columns.text("servernetworklocation");
  if (server !== undefined) {
    if (isIP(server) !== 0) record.serverIp = server;
    else record.serverLocationText = server;
  }
  record.unmapped = unmappedColumns(columns, KNOWN, record.unmappedKeys);
  return record;
}

/**
 * @module tanium/audit/read
 * Recognizes a Threat Response audit row (`table` and `action`, with `createdAt` or `state`,
 * events.md §6.1) and reads it into a typed AuditRecord. `state` is a JSON *string* in the ELA and
 * EXA-CIM2 samples; it is parsed here as hostile input (forbidden prototype keys removed, depth
 * capped). A state that is not a JSON object is kept as text rather than failing the row: the row
 * itself (who did what, when) is still worth a document.
 */
import { isIP } from "node:net";
import sjson from "secure-json-parse";
import { FieldTypeError } from "../../errors.ts";
import { Keyed, unmappedColumns } from "../keys.ts";
import { deeperThan, readDate, readInt, readIp, readString, readUid } from "../values.ts";
import type { AuditDestination, AuditRecord } from "./record.ts";

/** Deepest state kept as an object; deeper is kept as text (a document must serialize). */
const MAX_STATE_DEPTH = 32;

/** The row's keys, canonical (events.md §3.4). */
const KNOWN = new Set([
  "id",
  "table",
  "rowid",
  "revision",
  "state",
  "userid",
  "username",
  "action",
  "createdat",
  "updatedat",
]);

export function isAuditShape(value: Readonly<Record<string, unknown>>): boolean {
  if (value.table === undefined || value.action === undefined) return false;
  return value.createdAt !== undefined || value.state !== undefined || value.created_at !== undefined;
}

export function readAuditRow(value: Readonly<Record<string, unknown>>): AuditRecord {
  const columns = new Keyed(value);
  const record: AuditRecord = {
    shape: "audit",
    id: readString(...columns.field("id")),
    table: readString(...columns.field("table")),
    rowId: readInt(...columns.field("rowid")),
    revision: readInt(...columns.field("revision")),
    action: readString(...columns.field("action")),
    userId: readUid(...columns.field("userid")),
    userName: readString(...columns.field("username")),
    createdAt: readDate(...columns.field("createdat")),
    updatedAt: readDate(...columns.field("updatedat")),
    unmapped: undefined,
    unmappedKeys: [],
  };
  readState(record, columns.get("state"));
  record.unmapped = unmappedColumns(columns, KNOWN, record.unmappedKeys);
  return record;
}

function readState(record: AuditRecord, value: unknown): void {
  if (value === undefined || value === null || value === "") return;
  let state: unknown = value;
  if (typeof value === "string") {
    state = parseState(value);
    if (state === undefined) {
      record.stateText = value;
      return;
    }
  }
  const tooDeep = deeperThan(state, MAX_STATE_DEPTH);
  // An object sent as such cannot be kept as its own text without serializing its whole depth.
  if (tooDeep && typeof value !== "string") {
    throw new FieldTypeError("state", `nested at most ${MAX_STATE_DEPTH} levels`, value, "ERR_TOO_DEEP");
  }
  if (state === null || typeof state !== "object" || Array.isArray(state) || tooDeep) {
    record.stateText = typeof value === "string" ? value : JSON.stringify(value);
    return;
  }
  record.state = state as Record<string, unknown>;
  readStateKeys(record, new Keyed(record.state));
}

/** The state text parsed as JSON, forbidden prototype keys removed; undefined when not JSON. */
function parseState(text: string): unknown {
  try {
    return sjson.parse(text, null, { protoAction: "remove", constructorAction: "remove" });
  } catch {
    return undefined;
  }
}

/**
 * The keys of the state that say which endpoint or address the action was about: `target`
 * (`hostname`, `eid`) in the ELA sample; `computer_name`, `computer_ip_address` among ELA's
 * state fields (events.md §3.4); `dst` in EXA-CIM2's TraceConnections rows. Lenient: a value of
 * another type is no value (the state's content is not typed by any source).
 */
function readStateKeys(record: AuditRecord, state: Keyed): void {
  const target = state.get("target");
  if (target !== null && typeof target === "object" && !Array.isArray(target)) {
    const t = new Keyed(target as Record<string, unknown>);
    record.targetHostname = scalar(t.get("hostname")) ?? scalar(t.get("computername"));
    record.targetEid = scalar(t.get("eid"));
  }
  record.targetHostname ??= scalar(state.get("computername")) ?? scalar(state.get("hostname"));
  const ip = scalar(state.get("computeripaddress"));
  if (ip !== undefined && isIP(ip) !== 0) record.targetIp = ip;
  const dst = scalar(state.get("dst"));
  if (dst !== undefined) record.destination = parseDestination(dst);
}

function scalar(value: unknown): string | undefined {
  if (typeof value === "string") return value.trim() === "" ? undefined : value.trim();
  if (typeof value === "number" && Number.isFinite(value)) return String(value);
  return undefined;
}

/** `10.0.0.5`, `10.0.0.5:443`, `[2001:db8::1]:443`, `2001:db8::1`, `host`, `host:443`. */
export function parseDestination(dst: string): AuditDestination {
  if (isIP(dst) !== 0) return { address: dst, ip: dst };
  let host = dst;
  let port: number | undefined;
  const bracketed = /^\[([^\]]+)\](?::(\d{1,5}))?$/.exec(dst);
  const withPort = /^([^:]+):(\d{1,5})$/.exec(dst);
  if (bracketed !== null) {
    host = bracketed[1] as string;
    if (bracketed[2] !== undefined) port = Number(bracketed[2]);
  } else if (withPort !== null) {
    host = withPort[1] as string;
    port = Number(withPort[2]);
  }
  if (port !== undefined && port > 65535) return { address: dst };
  const out: AuditDestination = { address: host };
  let ip: string | undefined;
  try {
    ip = readIp(host, "state.dst");
  } catch {
    ip = undefined;
  }
  if (ip !== undefined) out.ip = ip;
  else if (/^[A-Za-z0-9.-]+$/.test(host)) out.domain = host;
  if (port !== undefined) out.port = port;
  return out;
}

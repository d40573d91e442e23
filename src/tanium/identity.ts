/**
 * @module tanium/identity
 * The deterministic identity and the time of a Tanium record, whatever schema it is written in:
 * the same raw event gives the same id on any machine (so a store drops a twice-delivered
 * event), and the event's own time is chosen from what the shape carries.
 */
import { hash } from "node:crypto";
import { parseSyslog } from "../decoding/syslog.ts";
import type { AuditRecord } from "./audit/record.ts";
import type { TaniumRecord } from "./shapes.ts";
import { toIsoUtc } from "./values.ts";

/** A 128-bit hex digest of `text`: short enough for a keyword, long enough never to collide. */
function digest(text: string): string {
  return hash("sha256", text, "hex").slice(0, 32);
}

/**
 * The record's event id: an alert's own `Alert Id`/`Event Id` (undefined when it has none), an
 * audit row's identifying columns, and for every other shape the raw text (`text`, the JSON as
 * received), since those rows carry no id of their own.
 */
export function eventIdentity(record: TaniumRecord, text: string): string | undefined {
  switch (record.shape) {
    case "alert":
      return record.id;
    case "audit":
      return auditIdentity(record, text);
    case "action":
      // Unique per Tanium server, and the same in every export of the action.
      return record.actionId ?? digest(text);
    default:
      return digest(text);
  }
}

/**
 * An audit row's own `id` is unique per Threat Response server only, so the id is a hash of what
 * identifies the row (id, table, row, revision, action, user, times, state), which does not
 * depend on the order or spacing of the row's keys: two rows never share one, and a row delivered
 * twice keeps its id. Without an `id` the raw text is hashed.
 */
function auditIdentity(record: AuditRecord, text: string): string {
  if (record.id === undefined) return digest(text);
  const state = record.state === undefined ? (record.stateText ?? "") : JSON.stringify(record.state);
  const parts = [
    "audit",
    record.id,
    record.table ?? "",
    record.rowId ?? "",
    record.revision ?? "",
    record.action ?? "",
    record.userId ?? "",
    record.createdAt ?? "",
    record.updatedAt ?? "",
    state,
  ];
  return digest(JSON.stringify(parts));
}

/**
 * When the event happened, in UTC, or undefined when the record does not say (the caller then
 * uses the receive time). `prefix` is what preceded the JSON on the line (a syslog header).
 * - Recorder: the event's `timestamp`, else when the process ended (process_end) or began.
 * - Alert: the alert's time, else when the finding was last seen.
 * - Audit: when the entry was written, else when it last changed.
 * - Integrity Monitor: the event time, else the syslog header's time (Connect's key=value form,
 *   EXA-IM, has no other).
 * - Action history, client status, Discover, Endpoint Configuration: their own time columns
 *   (below); a saved-question report row has none.
 */
export function eventTime(record: TaniumRecord, prefix: string | undefined): string | undefined {
  switch (record.shape) {
    case "recorder":
      return record.timestamp ?? record.process.end ?? record.process.start;
    case "alert":
      return record.timestamp ?? record.match?.finding.lastSeen;
    case "audit":
      return record.createdAt ?? record.updatedAt;
    case "integrity":
      return record.eventTime ?? headerTime(prefix);
    case "action":
      // When the server recorded the action, else when it was to start.
      return record.insertTime ?? record.startTime;
    case "client_status":
      return record.lastRegistration;
    case "discover":
      // When Discover last changed the record, else when it last saw the asset.
      return record.updatedAt ?? record.lastDiscoveredAt ?? record.createdAt;
    case "endpoint_config":
      return record.timestamp;
    default:
      return undefined;
  }
}

/** The time of the syslog header before the payload, in UTC, when it has a full ISO time. */
function headerTime(prefix: string | undefined): string | undefined {
  if (prefix === undefined) return undefined;
  const time = parseSyslog(prefix)?.timestamp;
  return time === undefined ? undefined : toIsoUtc(time);
}

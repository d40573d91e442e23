/**
 * @module tanium/audit/record
 * What a Threat Response audit row says (shape C, events.md §0.1C, §3.4): an action a Tanium
 * user took on a Threat Response object (`table`), with the object's state as a JSON string. In
 * Tanium's terms, independent of any output schema.
 */

/** Where a TraceConnections row's `dst` points: an IP or a host name, and a port (EXA-CIM2). */
export interface AuditDestination {
  /** The host part as sent: an address or a name. */
  address: string;
  ip?: string;
  domain?: string;
  port?: number;
}

export interface AuditRecord {
  /** Which Tanium shape this record was read from (events.md §0): C, Threat Response audit. */
  readonly shape: "audit";
  /** `id`: the audit row's own id, as text. */
  id?: string;
  /** `table`: what kind of object was acted on (`LiveConnection`, `TraceConnections`, …). */
  table?: string;
  /** `rowId`, `revision`: the object's row and its revision; null in the ELA sample. */
  rowId?: number;
  revision?: number;
  /** `action` as sent (`create`). */
  action?: string;
  /** The Tanium user who acted. */
  userId?: string;
  userName?: string;
  /** `createdAt`, `updatedAt`, in UTC. */
  createdAt?: string;
  updatedAt?: string;
  /** The parsed `state`, keys as sent (a null-prototype object when the state came as text). */
  state?: Record<string, unknown>;
  /** `state` as sent when it is not a JSON object (text, an array, or nested too deep). */
  stateText?: string;
  /** The endpoint acted on: the state's `target.hostname` / `target.eid`, else `computerName`. */
  targetHostname?: string;
  targetEid?: string;
  targetIp?: string;
  /** TraceConnections: the state's `dst` (IP[:port] or host, EXA-CIM2). */
  destination?: AuditDestination;
  /** Keys no reader claims, as spelled, with their values (a null-prototype object). */
  unmapped: Record<string, unknown> | undefined;
  unmappedKeys: string[];
}

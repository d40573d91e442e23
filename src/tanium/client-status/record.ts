/**
 * @module tanium/client-status/record
 * What a client-status row says (connect-exports.md §2): one managed endpoint's registration with
 * the Tanium server, its client version and network locations. In Tanium's terms.
 */

export interface ClientStatusRecord {
  /** Which Tanium shape this record was read from: Connect's client status. */
  readonly shape: "client_status";
  /** `ComputerId`: Tanium's computer id (recorder events' `tanium_computer_id`), as text. */
  computerId?: string;
  /** `HostName`. */
  hostName?: string;
  /** `Status` as sent: `Leader`, `Normal`, `Backward`, `Forward`, `Slow Link`. */
  status?: string;
  /** `LastRegistration`, UTC (sent without a zone). */
  lastRegistration?: string;
  protocolVersion?: number;
  /** `FullVersion` as sent; `version` only when it is a version number (not an IP). */
  fullVersion?: string;
  version?: string;
  validKey?: boolean;
  registeredWithTls?: boolean;
  /** `ClientNetworkLocation`, `ServerNetworkLocation` when they are IP addresses. */
  clientIp?: string;
  serverIp?: string;
  /** The same columns as sent when they are not IP addresses. */
  clientLocationText?: string;
  serverLocationText?: string;
  sendState?: string;
  receiveState?: string;
  /** Keys no reader claims, as spelled, with their values (a null-prototype object). */
  unmapped: Record<string, unknown> | undefined;
  unmappedKeys: string[];
}

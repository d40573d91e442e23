/**
 * @module tanium/discover/record
 * What a Discover row says (connect-exports.md §3): one network asset Tanium Discover found,
 * managed by Tanium or not, with how it was found, its open ports and when. In Tanium's terms.
 */
import type { OsDescription } from "../os.ts";

/** Discover's 0/1 columns, by the name they get in the record. */
export const DISCOVER_FLAGS = {
  managed: "managed",
  unmanageable: "unmanageable",
  arp: "arp",
  nmap: "nmap",
  ping: "ping",
  connected: "connected",
  aws_api: "awsapi",
  centralized_nmap: "centralizednmap",
  satellite_nmap: "satellitenmap",
} as const;

export type DiscoverFlag = keyof typeof DISCOVER_FLAGS;

export interface DiscoverRecord {
  /** Which Tanium shape this record was read from: Tanium Discover. */
  readonly shape: "discover";
  /** `id`: Discover's own asset id, as text. */
  id?: string;
  hostName?: string;
  /** `IpAddress`, `NatIpAddress`: IP addresses (a value that is not one is kept as text). */
  ip?: string;
  natIp?: string;
  ipText?: string;
  natIpText?: string;
  /** `MacAddress` in ECS form (upper-case, `-`), and as sent when it is not a MAC address. */
  mac?: string;
  macText?: string;
  macOrganization?: string;
  /** `TaniumComputerId` for a managed asset, as text (a 64-bit id). */
  taniumComputerId?: string;
  /** `Os`, `OsGeneration` as sent; what `Os` says of the OS family. */
  os?: string;
  osDescription?: OsDescription;
  osGeneration?: string;
  /** `Ports` (`"22,41000"`) as numbers; `portsText` keeps what was not a port. */
  ports: number[];
  portsText?: string;
  labels?: string;
  locations?: string;
  profile?: string;
  satelliteDecId?: string;
  satelliteName?: string;
  /** The 0/1 columns as booleans, those that were sent. */
  flags: Partial<Record<DiscoverFlag, boolean>>;
  /** The times, UTC. */
  createdAt?: string;
  updatedAt?: string;
  firstManagedAt?: string;
  lastManagedAt?: string;
  lastDiscoveredAt?: string;
  /** Keys no reader claims, as spelled, with their values (a null-prototype object). */
  unmapped: Record<string, unknown> | undefined;
  unmappedKeys: string[];
}

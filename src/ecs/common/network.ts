/**
 * @module ecs/common/network
 * ECS `source`/`destination` and `network.type` for a connection, the same for recorder events
 * and alert port matches, so a search on either finds both.
 * @see https://www.elastic.co/docs/reference/ecs/ecs-network
 */
import { isIPv4 } from "node:net";
import type { EcsEndpoint } from "../document.ts";
import { defined } from "./objects.ts";

/** One side: ECS `address` holds the raw address as well as `ip` (ECS: "always store the raw address"). */
export function endpoint(ip: string | undefined, port: number | undefined): EcsEndpoint | undefined {
  return defined({ address: ip, ip, port });
}

/**
 * ECS `network.type` of a connection, from the endpoint's own address, else the peer's. An
 * IPv4-mapped IPv6 address (`::ffff:192.0.2.7`, a dual-stack socket) carries IPv4 traffic.
 */
export function networkType(
  localIp: string | undefined,
  remoteIp: string | undefined,
): "ipv4" | "ipv6" | undefined {
  const ip = localIp ?? remoteIp;
  if (ip === undefined) return undefined;
  if (isIPv4(ip)) return "ipv4";
  const lower = ip.toLowerCase();
  return lower.startsWith("::ffff:") && isIPv4(lower.slice(7)) ? "ipv4" : "ipv6";
}

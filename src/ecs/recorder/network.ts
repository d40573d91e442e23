/**
 * @module ecs/recorder/network
 * Connection events → ECS `source`/`destination`/`network`. Tanium reports the endpoint's side as
 * `local_*` and the peer as `remote_*`; ECS wants the initiator as source, so an accepted
 * (inbound) connection has the remote peer as source. Direction per ECS `network.direction`.
 * @see https://www.elastic.co/docs/reference/ecs/ecs-network
 */
import { endpoint, networkType } from "../common/network.ts";
import type { EventSpec, FamilyMapper } from "./spec.ts";
import { defined } from "../common/objects.ts";
import { rowOf } from "./spec.ts";

interface NetworkSpec extends EventSpec {
  /** Which ECS side the endpoint's own address is. */
  readonly local: "source" | "destination";
  readonly direction?: "ingress" | "egress";
}

const template = (verb: string): string =>
  `Connection ${verb} on {host.hostname} from {source.ip} to {destination.ip}`;

export const NETWORK_EVENTS: Readonly<Record<string, NetworkSpec>> = {
  network_connect: {
    category: "network",
    type: "start",
    local: "source",
    direction: "egress",
    message: template("opened"),
  },
  network_accept: {
    category: "network",
    type: "allowed",
    local: "destination",
    direction: "ingress",
    message: template("allowed"),
  },
  // Which side began a closed connection is not reported: keep the seed's local = source, no direction.
  network_disconnect: { category: "network", type: "end", local: "source", message: template("closed") },
};

export const mapNetworkEvent: FamilyMapper = (record, doc) => {
  const spec = rowOf(NETWORK_EVENTS, record.name);
  const { localIp, localPort, remoteIp, remotePort } = record.connection;
  const local = endpoint(localIp, localPort);
  const remote = endpoint(remoteIp, remotePort);
  const [source, destination] = spec.local === "source" ? [local, remote] : [remote, local];
  if (source !== undefined) doc.source = source;
  if (destination !== undefined) doc.destination = destination;
  doc.network = defined({ direction: spec.direction, type: networkType(localIp, remoteIp) });
  return spec;
};

/**
 * @module ecs/recorder/dns
 * `dns_event` → ECS `dns.*` (`network`/`protocol`, as ECS categorizes protocol detail). The
 * `response` format is unconfirmed (events.md §7): it may be one address, a list, a name, or
 * `[unresolved]`, so it is split and each address also goes to `dns.resolved_ip`.
 * @see https://www.elastic.co/docs/reference/ecs/ecs-dns
 */
import { isIP } from "node:net";
import type { EventSpec, FamilyMapper } from "./spec.ts";
import { defined } from "../common/objects.ts";
import { rowOf } from "./spec.ts";

export const DNS_EVENTS: Readonly<Record<string, EventSpec>> = {
  dns_event: {
    category: "network",
    type: "protocol",
    message: "DNS query for {dns.question.name} on {host.hostname}",
  },
};

const SEPARATORS = /[\s,;|]+/;

export const mapDnsEvent: FamilyMapper = (record, doc) => {
  const { query, response } = record.dns;
  const answers = response === undefined ? [] : answersOf(response);
  const resolved = answers.filter((a) => isIP(a) !== 0);
  doc.dns = defined({
    // ECS dns.type: `answer` when the event carries the response, else `query`.
    type: answers.length > 0 ? "answer" : "query",
    question: query === undefined ? undefined : { name: query },
    answers: answers.length > 0 ? answers.map((data) => ({ data })) : undefined,
    resolved_ip: resolved.length > 0 ? resolved : undefined,
  });
  doc.network = { ...doc.network, protocol: "dns" };
  return rowOf(DNS_EVENTS, record.name);
};

function answersOf(response: string): string[] {
  return response
    .split(SEPARATORS)
    .map((part) => part.replace(/^\[|\]$/g, ""))
    .filter((part) => part !== "" && part.toLowerCase() !== "unresolved");
}

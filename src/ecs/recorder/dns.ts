/**
 * @module ecs/recorder/dns
 * `dns_event` → ECS `dns.*` (`network`/`protocol`, as ECS categorizes protocol detail). The
 * response's answers (tanium/recorder/dns.ts) go to `dns.answers`, each address also to
 * `dns.resolved_ip`.
 * @see https://www.elastic.co/docs/reference/ecs/ecs-dns
 */
import { isIP } from "node:net";
import { dnsAnswers } from "../../tanium/recorder/dns.ts";
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

export const mapDnsEvent: FamilyMapper = (record, doc) => {
  const { query, response } = record.dns;
  const answers = response === undefined ? [] : dnsAnswers(response);
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

/**
 * @module ecs/recorder/related
 * ECS `related.*`: every IP, host name, user and hash that appears in the document, once each,
 * so a pivot on one value finds the event whichever field holds it.
 * @see https://www.elastic.co/docs/reference/ecs/ecs-related
 */
import type { EcsDocument, EcsHash } from "../document.ts";

export function fillRelated(doc: EcsDocument): void {
  const ip = new Set<string>();
  addAll(ip, doc.host?.ip);
  add(ip, doc.source?.ip);
  add(ip, doc.destination?.ip);
  addAll(ip, doc.dns?.resolved_ip);

  const hosts = new Set<string>();
  add(hosts, doc.host?.hostname);
  add(hosts, doc.host?.name);
  add(hosts, doc.dns?.question?.name);

  const user = new Set<string>();
  add(user, doc.user?.name);
  add(user, doc.process?.user?.name);
  add(user, doc.process?.parent?.user?.name);

  const hash = new Set<string>();
  addHashes(hash, doc.process?.hash);
  addHashes(hash, doc.process?.parent?.hash);
  addHashes(hash, doc.file?.hash);

  const related: NonNullable<EcsDocument["related"]> = {};
  if (ip.size > 0) related.ip = [...ip];
  if (hosts.size > 0) related.hosts = [...hosts];
  if (user.size > 0) related.user = [...user];
  if (hash.size > 0) related.hash = [...hash];
  if (Object.keys(related).length > 0) doc.related = related;
}

function add(set: Set<string>, value: string | undefined): void {
  if (value !== undefined && value !== "") set.add(value);
}

function addAll(set: Set<string>, values: readonly string[] | undefined): void {
  if (values !== undefined) for (const value of values) add(set, value);
}

function addHashes(set: Set<string>, hash: EcsHash | undefined): void {
  if (hash === undefined) return;
  add(set, hash.md5);
  add(set, hash.sha1);
  add(set, hash.sha256);
}

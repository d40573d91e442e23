/**
 * @module ecs/common/related
 * ECS `related.*`: every IP, host name, user and hash that appears in the document, once each,
 * so a pivot on one value finds the event whichever field holds it.
 * @see https://www.elastic.co/docs/reference/ecs/ecs-related
 */
import type { EcsDocument, EcsHash } from "../document.ts";
import { hasMembers } from "./objects.ts";

// Lists of a few values each: an array with includes() is cheaper here than a Set.
export function fillRelated(doc: EcsDocument): void {
  const ip: string[] = [];
  addAll(ip, doc.host?.ip);
  add(ip, doc.source?.ip);
  add(ip, doc.destination?.ip);
  addAll(ip, doc.dns?.resolved_ip);

  const hosts: string[] = [];
  add(hosts, doc.host?.hostname);
  add(hosts, doc.host?.name);
  add(hosts, doc.dns?.question?.name);

  const user: string[] = [];
  add(user, doc.user?.name);
  add(user, doc.user?.target?.name);
  add(user, doc.user?.effective?.name);
  add(user, doc.process?.user?.name);
  add(user, doc.process?.parent?.user?.name);

  const hash: string[] = [];
  addHashes(hash, doc.process?.hash);
  addHashes(hash, doc.process?.parent?.hash);
  addHashes(hash, doc.file?.hash);
  addHashes(hash, doc.dll?.hash);

  const related: NonNullable<EcsDocument["related"]> = {};
  if (ip.length > 0) related.ip = ip;
  if (hosts.length > 0) related.hosts = hosts;
  if (user.length > 0) related.user = user;
  if (hash.length > 0) related.hash = hash;
  if (hasMembers(related)) doc.related = related;
}

function add(list: string[], value: string | undefined): void {
  if (value !== undefined && value !== "" && !list.includes(value)) list.push(value);
}

function addAll(list: string[], values: readonly string[] | undefined): void {
  if (values !== undefined) for (const value of values) add(list, value);
}

function addHashes(list: string[], hash: EcsHash | undefined): void {
  if (hash === undefined) return;
  add(list, hash.md5);
  add(list, hash.sha1);
  add(list, hash.sha256);
}

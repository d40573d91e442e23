/**
 * @module ecs/integrity
 * An Integrity Monitor row (shape D) → one ECS document: a file event (or a registry event when
 * the watched path is a registry key), categorized by its change type (EXA-IM's six values,
 * events.md §1.3), with the acting process, the user and the hash. Pure: the receive time and the
 * raw text come in through the context.
 * @see https://www.elastic.co/docs/reference/ecs/ecs-file
 */
import { eventIdentity, eventTime } from "../../tanium/identity.ts";
import type { IntegrityChange, IntegrityRecord } from "../../tanium/integrity/record.ts";
import { basename, splitPath } from "../../tanium/paths.ts";
import { integrityOsFamily } from "../../tanium/platform.ts";
import { splitHive } from "../../tanium/registry.ts";
import type { MapContext, MapResult } from "../context.ts";
import { ECS_VERSION, type EcsDocument } from "../document.ts";
import { renderMessage } from "../common/message.ts";
import { fillRelated } from "../common/related.ts";
import { defined } from "../common/objects.ts";

export const DATASET = "tanium.integrity_monitor";

interface ChangeSpec {
  /** ECS `event.type` for a file path. */
  readonly file: string;
  /** ECS `event.type` for a registry path (the `registry` category allows no `info`). */
  readonly registry: string;
  /** ECS `event.action`: EXA-IM's change type in the kebab case of the recorder's actions. */
  readonly action: string;
  /** What happened, for the message. */
  readonly verb: string;
}

/**
 * EXA-IM's change types → ECS. ECS has no rename, permission or owner type: those are `change`,
 * told apart by `event.action` (as Elastic Defend does for a rename).
 */
export const CHANGES: Readonly<Record<IntegrityChange, ChangeSpec>> = {
  write: { file: "change", registry: "change", action: "write", verb: "was written" },
  create: { file: "creation", registry: "creation", action: "create-new-file", verb: "was created" },
  delete: { file: "deletion", registry: "deletion", action: "delete-path", verb: "was deleted" },
  rename: { file: "change", registry: "change", action: "rename-path", verb: "was renamed" },
  permission: {
    file: "change",
    registry: "change",
    action: "file-permission-change",
    verb: "had its permissions changed",
  },
  ownership: {
    file: "change",
    registry: "change",
    action: "file-ownership-change",
    verb: "had its owner changed",
  },
};

const OBSERVER = { product: "Integrity Monitor", type: "agent", vendor: "Tanium" } as const;

export function mapIntegrity(record: IntegrityRecord, context: MapContext): MapResult {
  const spec = record.change === undefined ? undefined : CHANGES[record.change];
  const registry = record.pathKind === "registry";
  const tanium: Record<string, unknown> = {};
  if (record.eventTimeText !== undefined) tanium.event_time = record.eventTimeText;
  const timestamp = eventTime(record, context.prefix) ?? context.receivedAt;

  const doc: EcsDocument = {
    "@timestamp": timestamp,
    message: "",
    ecs: { version: ECS_VERSION },
    event: { kind: "event" },
  };
  const event: EcsDocument["event"] = { kind: "event", category: [registry ? "registry" : "file"] };
  // An unknown change type is still a file event, of type `info` (not allowed with `registry`).
  const type = spec === undefined ? (registry ? undefined : "info") : registry ? spec.registry : spec.file;
  if (type !== undefined) event.type = [type];
  const action = spec?.action ?? record.changeType;
  if (action !== undefined) event.action = action;
  event.module = "tanium";
  event.dataset = DATASET;
  event.id = eventIdentity(record, context.text);
  event.ingested = context.receivedAt;
  if (context.original) event.original = context.text;
  doc.event = event;
  doc.observer = { product: OBSERVER.product, type: OBSERVER.type, vendor: OBSERVER.vendor };

  const family = integrityOsFamily(record);
  const host = defined({
    hostname: record.computerName,
    name: record.computerName,
    os: family === undefined ? undefined : { type: family },
  });
  if (host !== undefined) doc.host = host;
  const user = defined({ name: record.userName, domain: record.userDomain });
  if (user !== undefined) doc.user = user;
  if (record.processPath !== undefined) {
    doc.process = { name: basename(record.processPath), executable: record.processPath };
  }

  const hashes = defined({ md5: record.md5, sha1: record.sha1, sha256: record.sha256 });
  if (record.path !== undefined) {
    if (registry) {
      // As the recorder's registry events: hive abbreviated (`HKLM`), path = hive\key, so that one
      // search finds a key in both datasets. Whether IM's path ends in a value name is not known,
      // so registry.value is never set.
      const { hive, key } = splitHive(record.path);
      const path = hive === undefined ? key : key === "" ? hive : `${hive}\\${key}`;
      doc.registry = defined({ hive, key: key === "" ? undefined : key, path });
    } else {
      doc.file = splitPath(record.path);
    }
  }
  if (hashes !== undefined) {
    // A hash belongs to a file; next to a registry path it is kept, not claimed as `file.hash`.
    if (registry) tanium.hash = record.md5 ?? record.sha1 ?? record.sha256;
    else (doc.file ??= {}).hash = hashes;
  }
  if (record.hashText !== undefined) tanium.hash = record.hashText;
  if (record.changeType !== undefined) tanium.change_type = record.changeType;
  if (record.detail !== undefined) tanium.detail = record.detail;

  const namespace: NonNullable<EcsDocument["tanium"]> = { integrity_monitor: tanium };
  if (record.unmapped !== undefined) namespace.fields = record.unmapped;
  if (context.prefix !== undefined) namespace.envelope = { prefix: context.prefix };
  doc.tanium = namespace;
  fillRelated(doc);
  doc.message = renderMessage(messageOf(spec, registry), doc);
  return { doc, unmapped: record.unmappedKeys };
}

function messageOf(spec: ChangeSpec | undefined, registry: boolean): string {
  const what = registry ? "The registry path {registry.path}" : "The file {file.path}";
  if (spec === undefined) return `${what} changed ({event.action}) on {host.hostname}`;
  return `${what} ${spec.verb} on {host.hostname}`;
}

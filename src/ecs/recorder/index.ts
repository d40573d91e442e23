/**
 * @module ecs/recorder
 * A typed recorder event → one ECS document: the parts every event shares (time, categorization,
 * host, observer, user, the acting process, related.*), then the family's own mapper.
 * Pure: the receive time and the raw text come in through the context.
 */
import { createHash } from "node:crypto";
import { basename } from "../../tanium/paths.ts";
import type { ProcessRecord, RecorderEvent, RecorderFamily } from "../../tanium/recorder/record.ts";
import { ECS_VERSION, type EcsDocument, type EcsProcess, type EcsProcessBase } from "../document.ts";
import { mapDnsEvent } from "./dns.ts";
import { mapFileEvent } from "./file.ts";
import { renderMessage } from "./message.ts";
import { mapNetworkEvent } from "./network.ts";
import { mapProcessEvent } from "./process.ts";
import { mapRegistryEvent } from "./registry.ts";
import { fillRelated } from "./related.ts";
import { defined, type EventSpec, type FamilyMapper } from "./spec.ts";

export interface MapContext {
  /** When the line was read, ISO-8601 UTC. */
  readonly receivedAt: string;
  /** The raw Tanium JSON text: hashed into `event.id`. */
  readonly text: string;
  /** Whether to keep the raw text at `event.original`. */
  readonly original: boolean;
  /** What preceded the JSON on the line (a syslog header). */
  readonly prefix: string | undefined;
}

export interface MapResult {
  readonly doc: EcsDocument;
  readonly unmapped: readonly string[];
}

const FAMILY_MAPPERS: Readonly<Record<RecorderFamily, FamilyMapper>> = {
  process: mapProcessEvent,
  file: mapFileEvent,
  network: mapNetworkEvent,
  dns: mapDnsEvent,
  registry: mapRegistryEvent,
};

/** An event name this version does not know still becomes a document, uncategorized. */
const UNKNOWN_EVENT_MESSAGE = "Tanium recorder event {event.action} on {host.hostname}";

/** Sekoia's observer values for the recorder (SEK-P `observer.product: XEM`), kept for compatibility. */
const OBSERVER = { product: "XEM", type: "sensor", vendor: "Tanium" } as const;

export function mapRecorderEvent(record: RecorderEvent, context: MapContext): MapResult {
  const doc: EcsDocument = {
    // Event time, else when the process began (process_start), else when the line was read.
    "@timestamp": record.timestamp ?? record.process.start ?? context.receivedAt,
    message: "",
    ecs: { version: ECS_VERSION },
    event: {
      kind: "event",
      action: record.name.replaceAll("_", "-"),
      module: "tanium",
      dataset: "tanium.recorder",
      // Same raw event, same id on any machine: lets a store drop a twice-delivered event.
      id: createHash("sha256").update(context.text).digest("hex").slice(0, 32),
      ingested: context.receivedAt,
    },
  };
  if (context.original) doc.event.original = context.text;
  const host = defined({
    hostname: record.hostname,
    name: record.hostname,
    id: record.computerId,
    ip: record.hostIp === undefined ? undefined : [record.hostIp],
  });
  if (host !== undefined) doc.host = host;
  doc.observer = record.hostname === undefined ? { ...OBSERVER } : { name: record.hostname, ...OBSERVER };
  const user = defined({ id: record.login.id, name: record.login.name });
  if (user !== undefined) doc.user = user;
  if (record.process.groupName !== undefined) doc.group = { name: record.process.groupName };
  const process = ecsProcess(record.process);
  if (process !== undefined) doc.process = process;

  let template = UNKNOWN_EVENT_MESSAGE;
  if (record.family !== undefined) {
    const spec: EventSpec = FAMILY_MAPPERS[record.family](record, doc);
    doc.event.category = [spec.category];
    doc.event.type = [spec.type];
    template = spec.message;
  }
  if (record.unmapped !== undefined) (doc.tanium ??= {}).fields = record.unmapped;
  if (context.prefix !== undefined) (doc.tanium ??= {}).envelope = { prefix: context.prefix };
  fillRelated(doc);
  doc.message = renderMessage(template, doc);
  return { doc, unmapped: record.unmappedKeys };
}

function ecsProcess(p: ProcessRecord): EcsProcess | undefined {
  const process: EcsProcess | undefined = processBase(p);
  const parent = p.parent === undefined ? undefined : processBase(p.parent);
  if (parent === undefined) return process;
  return { ...process, parent };
}

function processBase(p: ProcessRecord): EcsProcessBase | undefined {
  return defined<EcsProcessBase>({
    pid: p.pid,
    name: p.executable === undefined ? undefined : basename(p.executable),
    executable: p.executable,
    command_line: p.commandLine,
    entity_id: p.entityId,
    start: p.start,
    hash: p.md5 === undefined ? undefined : { md5: p.md5 },
    user: p.userName === undefined ? undefined : { name: p.userName },
    group: p.groupName === undefined ? undefined : { name: p.groupName },
  });
}

/**
 * @module ecs/recorder
 * A typed recorder event → one ECS document: the parts every event shares (time, categorization,
 * host, observer, user, the acting process, related.*), then the family's own mapper.
 * Pure: the receive time and the raw text come in through the context.
 */
import { eventIdentity, eventTime } from "../../tanium/identity.ts";
import { basename } from "../../tanium/paths.ts";
import { commandLineArgs, recorderOsFamily } from "../../tanium/platform.ts";
import type { OsFamily } from "../../tanium/os.ts";
import type { ProcessRecord, RecorderEvent, RecorderFamily } from "../../tanium/recorder/record.ts";
import type { MapContext, MapResult } from "../context.ts";
import { ECS_VERSION, type EcsDocument, type EcsProcess, type EcsProcessBase } from "../document.ts";
import { mapDnsEvent } from "./dns.ts";
import { mapDriverEvent } from "./driver.ts";
import { mapFileEvent } from "./file.ts";
import { mapLibraryEvent } from "./library.ts";
import { mapNetworkEvent } from "./network.ts";
import { mapProcessEvent } from "./process.ts";
import { mapRegistryEvent } from "./registry.ts";
import { mapSecurityEvent } from "./security.ts";
import { renderMessage } from "../common/message.ts";
import { defined, hasMembers } from "../common/objects.ts";
import { fillRelated } from "../common/related.ts";
import { listOf, type EventSpec, type FamilyMapper } from "./spec.ts";

const FAMILY_MAPPERS: Readonly<Record<RecorderFamily, FamilyMapper>> = {
  process: mapProcessEvent,
  file: mapFileEvent,
  network: mapNetworkEvent,
  dns: mapDnsEvent,
  registry: mapRegistryEvent,
  library: mapLibraryEvent,
  driver: mapDriverEvent,
  security: mapSecurityEvent,
};

/** An event name this version does not know still becomes a document, uncategorized. */
const UNKNOWN_EVENT_MESSAGE = "Tanium recorder event {event.action} on {host.hostname}";

/** Sekoia's observer values for the recorder (SEK-P `observer.product: XEM`), kept for compatibility. */
const OBSERVER = { product: "XEM", type: "sensor", vendor: "Tanium" } as const;

export function mapRecorderEvent(record: RecorderEvent, context: MapContext): MapResult {
  const doc: EcsDocument = {
    "@timestamp": eventTime(record, context.prefix) ?? context.receivedAt,
    message: "",
    ecs: { version: ECS_VERSION },
    // Filled in below, once the family's row is known; declared here to keep the key order.
    event: { kind: "event" },
  };
  const family = recorderOsFamily(record);
  const host = defined({
    hostname: record.hostname,
    name: record.hostname,
    id: record.computerId,
    ip: record.hostIp === undefined ? undefined : [record.hostIp],
    // ECS host.os.type's allowed values are the family names; only a certain family is given.
    os: family === undefined ? undefined : { type: family },
  });
  if (host !== undefined) doc.host = host;
  doc.observer =
    record.hostname === undefined
      ? { product: OBSERVER.product, type: OBSERVER.type, vendor: OBSERVER.vendor }
      : { name: record.hostname, product: OBSERVER.product, type: OBSERVER.type, vendor: OBSERVER.vendor };
  const user = defined({ id: record.login.id, name: record.login.name });
  if (user !== undefined) doc.user = user;
  if (record.process.groupName !== undefined) doc.group = { name: record.process.groupName };
  const process = ecsProcess(record.process, family);
  if (process !== undefined) doc.process = process;

  const spec: EventSpec | undefined =
    record.family === undefined ? undefined : FAMILY_MAPPERS[record.family](record, doc);
  // A security event (4688) fills the command line from its EventData, after processBase.
  if (record.family === "security" && doc.process?.command_line !== undefined) {
    addArgs(doc.process, doc.process.command_line, family);
  }
  const event: EcsDocument["event"] = { kind: "event" };
  if (spec?.category !== undefined) event.category = listOf(spec.category);
  if (spec?.type !== undefined) event.type = listOf(spec.type);
  event.action = spec?.action ?? actionOf(record.name);
  if (spec?.outcome !== undefined) event.outcome = spec.outcome;
  if (spec?.code !== undefined) event.code = spec.code;
  if (spec?.provider !== undefined) event.provider = spec.provider;
  if (spec?.reason !== undefined) event.reason = spec.reason;
  event.module = "tanium";
  event.dataset = "tanium.recorder";
  event.id = eventIdentity(record, context.text);
  event.ingested = context.receivedAt;
  if (context.original) event.original = context.text;
  doc.event = event;
  const template = spec === undefined ? UNKNOWN_EVENT_MESSAGE : spec.message;
  if (record.unmapped !== undefined) (doc.tanium ??= {}).fields = record.unmapped;
  if (context.prefix !== undefined) (doc.tanium ??= {}).envelope = { prefix: context.prefix };
  fillRelated(doc);
  doc.message = renderMessage(template, doc);
  return { doc, unmapped: record.unmappedKeys };
}

const actions = new Map<string, string>();

/** ECS `event.action` is the Tanium name in the seed's spelling (`file_open` → `file-open`). */
function actionOf(name: string): string {
  let action = actions.get(name);
  if (action === undefined) {
    action = name.replaceAll("_", "-");
    // Names come from the input: bound the cache so hostile variety cannot grow it.
    if (actions.size < 1024) actions.set(name, action);
  }
  return action;
}

/** ECS `process.args`/`args_count`: the command line split by the platform's rules (platform.ts). */
function addArgs(process: EcsProcessBase, commandLine: string, family: OsFamily | undefined): void {
  const args = commandLineArgs(commandLine, family, process.executable);
  if (args === undefined || args.length === 0) return;
  process.args = args;
  process.args_count = args.length;
}

function ecsProcess(p: ProcessRecord, family: OsFamily | undefined): EcsProcess | undefined {
  const process: EcsProcess | undefined = processBase(p, family);
  const parent = p.parent === undefined ? undefined : processBase(p.parent, family);
  if (parent === undefined) return process;
  return { ...process, parent };
}

function processBase(p: ProcessRecord, family: OsFamily | undefined): EcsProcessBase | undefined {
  const out: EcsProcessBase = {};
  if (p.pid !== undefined) out.pid = p.pid;
  if (p.executable !== undefined) {
    out.name = basename(p.executable);
    out.executable = p.executable;
  }
  if (p.commandLine !== undefined) {
    out.command_line = p.commandLine;
    addArgs(out, p.commandLine, family);
  }
  if (p.entityId !== undefined) out.entity_id = p.entityId;
  if (p.start !== undefined) out.start = p.start;
  if (p.end !== undefined) out.end = p.end;
  if (p.exitCode !== undefined) out.exit_code = p.exitCode;
  if (p.md5 !== undefined) out.hash = { md5: p.md5 };
  if (p.userName !== undefined) out.user = { name: p.userName };
  if (p.groupName !== undefined) out.group = { name: p.groupName };
  return hasMembers(out) ? out : undefined;
}

/**
 * @module ecs/alert
 * A typed Threat Response alert (B1 or B2, events.md §3) → one alert-grade ECS document:
 * categorization from the match type, the rule from the intel, MITRE techniques in `threat.*`,
 * severity/risk/link/times, the host and its OS, the matched process (with its parent, and the
 * deeper ancestry under `tanium`), file or connection in their ECS fields, every hash in
 * `related.hash`. Pure: the receive time and the raw text come in through the context.
 */
import type {
  AlertProcessRecord,
  AlertRecord,
  AlertUser,
  FileArtifactRecord,
  MatchRecord,
  PortArtifactRecord,
  SignatureRecord,
  SystemInfoRecord as SystemInfo,
} from "../../tanium/alert/record.ts";
import { eventIdentity, eventTime } from "../../tanium/identity.ts";
import { describeOs, type OsFamily } from "../../tanium/os.ts";
import { alertOsFamily, commandLineArgs } from "../../tanium/platform.ts";
import { basename, splitPath } from "../../tanium/paths.ts";
import type { MapContext, MapResult } from "../context.ts";
import {
  ECS_VERSION,
  type EcsDocument,
  type EcsEndpoint,
  type EcsFile,
  type EcsHash,
  type EcsOs,
  type EcsProcess,
  type EcsProcessBase,
  type EcsThreat,
  type EcsUser,
} from "../document.ts";
import { endpoint as connectionEnd, networkType } from "../common/network.ts";
import { defined, hasMembers } from "../common/objects.ts";
import {
  DEFAULT_CATEGORIES,
  END_CATEGORIES,
  MALWARE_INTEL_TYPES,
  MATCH_CATEGORIES,
  MITRE_FRAMEWORK,
  MITRE_TECHNIQUE_URL,
  PHASE_ACTIONS,
  PRIORITY_SEVERITY,
  TAGS,
} from "./tables.ts";

const NO_UNMAPPED: readonly string[] = [];

/**
 * ECS `event.kind` is `alert` for both phases: `detect.unmatch` comes from the same detection and
 * is kept next to its match (same rule, host and dataset), told apart by `event.action`
 * `detect-unmatch` and, where the category allows it, `event.type: end` (tables.ts). The B1 intel
 * changes (`detect.service.intel.created`/`.modified`) are no detection: `event.kind: event`,
 * `configuration` with `creation`/`change`, the console user in `user.*`, the intel in `rule.*`.
 */
export function mapAlert(record: AlertRecord, context: MapContext): MapResult {
  const match = record.match;
  const finding = match?.finding;
  const doc: EcsDocument = {
    "@timestamp": eventTime(record, context.prefix) ?? context.receivedAt,
    message: "",
    ecs: { version: ECS_VERSION },
    event: categorize(record),
  };
  const event = doc.event;
  const id = eventIdentity(record, context.text);
  if (id !== undefined) event.id = id;
  event.module = "tanium";
  event.dataset = "tanium.threat_response";
  const severity =
    record.priority === undefined ? undefined : PRIORITY_SEVERITY.get(record.priority.trim().toLowerCase());
  if (severity !== undefined) event.severity = severity;
  if (record.impactScore !== undefined) event.risk_score = record.impactScore;
  if (record.link !== undefined) event.url = record.link;
  if (finding?.firstSeen !== undefined) event.start = finding.firstSeen;
  if (finding?.lastSeen !== undefined) event.end = finding.lastSeen;
  event.ingested = context.receivedAt;
  if (context.original) event.original = context.text;

  doc.observer = { product: "Threat Response", vendor: "Tanium" };
  const family = alertOsFamily(record);
  const host = defined({
    hostname: record.computerName,
    name: record.computerName,
    ip: record.computerIp === undefined ? undefined : [record.computerIp],
    os: hostOs(finding?.system, family),
  });
  if (host !== undefined) doc.host = host;

  const tanium: ThreatResponseNamespace = {};
  keepVendorValues(record, tanium);
  const tags: string[] = [...record.intel.labels];
  const chain = match?.process;
  const user = topUser(record.user, chain?.process.user);
  if (user !== undefined) doc.user = user;
  if (chain !== undefined) {
    const process: EcsProcess = ecsProcess(chain.process, family, tanium) ?? {};
    const parent = chain.ancestors[0];
    const ecsParent =
      parent === undefined
        ? chain.process.ppid === undefined
          ? undefined
          : { pid: chain.process.ppid }
        : ecsProcessBase(parent, family);
    if (ecsParent !== undefined) process.parent = ecsParent;
    if (hasMembers(process)) doc.process = process;
    if (chain.ancestors.length > 1) {
      tanium.process_ancestry = chain.ancestors.slice(1).map((p) => ancestor(p, family));
    }
    if (chain.truncated) {
      tanium.process_ancestry_truncated = true;
      tags.push(TAGS.ancestryTruncated);
    }
  }
  if (match?.file !== undefined) {
    const file = ecsFile(match.file, tanium);
    if (file !== undefined) doc.file = file;
  }
  if (match?.port !== undefined) mapPort(match.port, doc, tanium);

  const rule = defined({
    id: record.intel.id,
    uuid: finding?.intel?.uuid,
    version: finding?.intel?.revision,
    name: record.intel.name,
    category: record.intel.type,
    ruleset: record.intel.source,
    description: finding?.description,
  });
  if (rule !== undefined) doc.rule = rule;
  const threat = ecsThreat(record.mitre.techniques);
  if (threat !== undefined) doc.threat = threat;
  if (record.mitre.unparsed !== undefined) tags.push(TAGS.mitreUnparsed);
  if (record.unsafeKeys > 0) tags.push(TAGS.unsafeKey);
  if (tags.length > 0) doc.tags = tags;

  fillRelated(doc, match);
  keepDetails(record, tanium);
  if (hasMembers(tanium)) doc.tanium = { threat_response: tanium };
  if (context.prefix !== undefined) (doc.tanium ??= {}).envelope = { prefix: context.prefix };
  doc.message = messageOf(record, doc);
  return { doc, unmapped: NO_UNMAPPED };
}

/**
 * ECS `host.os.*`: the family is `host.os.type` (its names are ECS's allowed values), from
 * `system_info`, else from the match's Windows paths (platform.ts).
 */
function hostOs(system: SystemInfo | undefined, family: OsFamily | undefined): EcsOs | undefined {
  const os = describeOs(system);
  if (os === undefined) return family === undefined ? undefined : { type: family };
  return defined({
    type: os.family ?? family,
    platform: os.platform,
    full: os.full,
    name: os.name,
    version: os.version,
  });
}

/** `event.kind`/`category`/`type`/`action` from the phase, the match type and the intel type. */
function categorize(record: AlertRecord): EcsDocument["event"] {
  const type = record.match?.type;
  let category = (type === undefined ? undefined : MATCH_CATEGORIES[type]) ?? DEFAULT_CATEGORIES;
  const intelType = record.intel.type?.trim().toLowerCase();
  if (intelType !== undefined && MALWARE_INTEL_TYPES.has(intelType)) {
    category = [category[0] as string, "malware", ...category.slice(1)];
  }
  const types = ["info"];
  if (record.phase === "intel_created" || record.phase === "intel_modified") {
    // A console user's change to an intel definition: ECS configuration, not a detection.
    const type = record.phase === "intel_created" ? "creation" : "change";
    return { kind: "event", category: ["configuration"], type: [type], action: eventNameAction(record) };
  }
  if (record.phase === "unmatch" && category.some((c) => END_CATEGORIES.has(c))) types.push("end");
  const action = record.phase === "other" ? eventNameAction(record) : PHASE_ACTIONS[record.phase];
  return { kind: "alert", category: [...category], type: types, action };
}

/** The B1 event name in the project's hyphenated spelling (`detect.service.intel.created`). */
function eventNameAction(record: AlertRecord): string {
  return (record.eventName ?? "").trim().toLowerCase().replaceAll(".", "-");
}

/** The B1 user columns when any is set; otherwise the matched process's account. */
function topUser(columns: AlertUser, processUser: AlertUser | undefined): EcsUser | undefined {
  const source = hasMembers(columns) ? columns : processUser;
  return source === undefined
    ? undefined
    : defined({ id: source.id, name: source.name, domain: source.domain });
}

function ecsProcess(
  p: AlertProcessRecord,
  family: OsFamily | undefined,
  tanium: ThreatResponseNamespace,
): EcsProcess | undefined {
  const process = ecsProcessBase(p, family);
  const vendor = defined({
    table_id: p.tableId,
    signature_issuer: p.signature?.issuer,
    signature_status: p.signature?.status,
  });
  if (vendor !== undefined) tanium.process = vendor;
  return process;
}

function ecsProcessBase(p: AlertProcessRecord, family: OsFamily | undefined): EcsProcessBase | undefined {
  const out: EcsProcessBase = {};
  if (p.pid !== undefined) out.pid = p.pid;
  // `name` may be a full path (`/usr/bin/mv`): ECS `process.name` is the bare name.
  const named = p.name ?? p.executable;
  if (named !== undefined) out.name = basename(named);
  const executable =
    p.executable ?? (p.name !== undefined && basename(p.name) !== p.name ? p.name : undefined);
  if (executable !== undefined) out.executable = executable;
  if (p.commandLine !== undefined) {
    out.command_line = p.commandLine;
    // Split by the platform's rules; none when the platform is unknown and the rules disagree.
    const args = commandLineArgs(p.commandLine, family, executable);
    if (args !== undefined && args.length > 0) {
      out.args = args;
      out.args_count = args.length;
    }
  }
  if (p.workingDirectory !== undefined) out.working_directory = p.workingDirectory;
  if (p.uniqueId !== undefined) out.entity_id = p.uniqueId;
  if (p.start !== undefined) out.start = p.start;
  const hash = hashOf(p);
  if (hash !== undefined) out.hash = hash;
  // ECS `process.user` has no domain: the domain is at `user.domain` (topUser).
  const user = p.user === undefined ? undefined : defined({ id: p.user.id, name: p.user.name });
  if (user !== undefined) out.user = user;
  const signature = codeSignature(p.signature);
  if (signature !== undefined) out.code_signature = signature;
  return hasMembers(out) ? out : undefined;
}

/** A deeper ancestor (grandparent and up), in ECS process names, with its account as sent. */
function ancestor(p: AlertProcessRecord, family: OsFamily | undefined): AncestorDoc {
  const out: AncestorDoc = { ...ecsProcessBase(p, family) };
  if (p.user?.domain !== undefined) out.user = { ...out.user, domain: p.user.domain };
  return out;
}

function hashOf(h: { md5?: string; sha1?: string; sha256?: string }): EcsHash | undefined {
  return defined({ md5: h.md5, sha1: h.sha1, sha256: h.sha256 });
}

/**
 * `signature_data` says a signature is there and names its subject; its `status` codes (1, 11)
 * are undocumented (events.md §7), so `valid`/`trusted` are never claimed: status and issuer are
 * kept under `tanium`.
 */
function codeSignature(s: SignatureRecord | undefined): EcsFile["code_signature"] {
  if (s === undefined || (s.subject === undefined && s.issuer === undefined)) return undefined;
  return s.subject === undefined ? { exists: true } : { exists: true, subject_name: s.subject };
}

function ecsFile(f: FileArtifactRecord, tanium: ThreatResponseNamespace): EcsFile | undefined {
  const file: EcsFile = {};
  if (f.path !== undefined) {
    const parts = splitPath(f.path);
    file.path = parts.path;
    file.name = parts.name;
    if (parts.directory !== undefined) file.directory = parts.directory;
    if (parts.extension !== undefined) file.extension = parts.extension;
  }
  const hash = hashOf(f);
  if (hash !== undefined) file.hash = hash;
  if (f.size !== undefined) file.size = f.size;
  if (f.modified !== undefined) file.mtime = f.modified;
  const signature = codeSignature(f.signature);
  if (signature !== undefined) file.code_signature = signature;
  const vendor = defined({
    magic_number_hex: f.magicNumberHex,
    signature_issuer: f.signature?.issuer,
    signature_status: f.signature?.status,
  });
  if (vendor !== undefined) tanium.file = vendor;
  return hasMembers(file) ? file : undefined;
}

/**
 * A port match says which side is the endpoint (`local_*`) but not who connected: it is mapped
 * as an outbound connection, like the recorder's `network_connect` (events.md §6.7: local =
 * `source`, remote = `destination`), with no `network.direction` claimed.
 */
function mapPort(port: PortArtifactRecord, doc: EcsDocument, tanium: ThreatResponseNamespace): void {
  const source = connectionEnd(port.localIp, port.localPort);
  const destination = connectionEnd(port.remoteIp, port.remotePort);
  if (source !== undefined) doc.source = source;
  if (destination !== undefined) doc.destination = destination;
  const type = networkType(port.localIp, port.remoteIp);
  if (type !== undefined) doc.network = { type };
  if (port.connectionTime !== undefined) tanium.port = { connection_time: port.connectionTime };
}

/**
 * `threat.*` from the technique ids. ECS puts a sub-technique (`T1059.001`) in
 * `threat.technique.subtechnique.id` and its technique (`T1059`) in `threat.technique.id`.
 */
function ecsThreat(techniques: readonly string[]): EcsThreat | undefined {
  if (techniques.length === 0) return undefined;
  const ids: string[] = [];
  const subIds: string[] = [];
  for (const technique of techniques) {
    const dot = technique.indexOf(".");
    const parent = dot < 0 ? technique : technique.slice(0, dot);
    if (!ids.includes(parent)) ids.push(parent);
    if (dot >= 0) subIds.push(technique);
  }
  const technique: NonNullable<EcsThreat["technique"]> = {
    id: ids,
    reference: ids.map((t) => `${MITRE_TECHNIQUE_URL}${t}/`),
  };
  if (subIds.length > 0) {
    technique.subtechnique = {
      id: subIds,
      reference: subIds.map((t) => `${MITRE_TECHNIQUE_URL}${t.replace(".", "/")}/`),
    };
  }
  return { framework: MITRE_FRAMEWORK, technique };
}

/** `related.*`: every IP, host, user and hash of the alert, once each (hashes from the whole payload). */
function fillRelated(doc: EcsDocument, match: MatchRecord | undefined): void {
  const ip: string[] = [];
  for (const value of doc.host?.ip ?? []) add(ip, value);
  add(ip, doc.source?.ip);
  add(ip, doc.destination?.ip);
  const hosts: string[] = [];
  add(hosts, doc.host?.name);
  // ECS related.user: "all the user names or other user identifiers seen on the event" (SIDs, uids).
  const users: string[] = [];
  add(users, doc.user?.name);
  add(users, doc.user?.id);
  add(users, doc.process?.user?.name);
  add(users, doc.process?.user?.id);
  add(users, doc.process?.parent?.user?.name);
  add(users, doc.process?.parent?.user?.id);
  const related: NonNullable<EcsDocument["related"]> = {};
  if (ip.length > 0) related.ip = ip;
  if (hosts.length > 0) related.hosts = hosts;
  if (users.length > 0) related.user = users;
  if (match !== undefined && match.hashes.length > 0) related.hash = [...match.hashes];
  if (hasMembers(related)) doc.related = related;
}

function add(list: string[], value: string | undefined): void {
  if (value !== undefined && !list.includes(value)) list.push(value);
}

/** Tanium's own values with no ECS field, under `tanium.threat_response` (not ECS; free-form). */
function keepVendorValues(record: AlertRecord, tanium: ThreatResponseNamespace): void {
  tanium.generation = record.generation;
  if (record.eventName !== undefined) tanium.event_name = record.eventName;
  if (record.priority !== undefined) tanium.priority = record.priority;
  if (record.severity !== undefined) tanium.severity = record.severity;
  if (record.eid !== undefined) tanium.eid = record.eid;
  if (record.computerIpText !== undefined) tanium.computer_ip = record.computerIpText;
  if (record.impactScoreText !== undefined) tanium.impact_score = record.impactScoreText;
  if (record.mitre.unparsed !== undefined) tanium.mitre_techniques = record.mitre.unparsed;
  if (record.otherParameters !== undefined) tanium.other_parameters = record.otherParameters;
  const match = record.match;
  if (match !== undefined) {
    const m = defined({
      type: match.type,
      source: match.source,
      hash: match.hash,
      version: match.version,
      is_intel_target: match.isIntelTarget,
      intel_id: match.intelId,
      config_id: match.configId,
      config_rev_id: match.configRevId,
    });
    if (m !== undefined) tanium.match = m;
    const f = match.finding;
    const finding = defined({
      id: f.id,
      threat_id: f.threatId,
      hunt_id: f.huntId,
      reporting_id: f.reportingId,
      domain: f.domain,
      source_name: f.sourceName,
      type_id: f.typeId,
      intel_intra_ids: f.intelIntraIds.length > 0 ? f.intelIntraIds : undefined,
    });
    if (finding !== undefined) tanium.finding = finding;
    const s = f.system;
    const system =
      s === undefined
        ? undefined
        : defined({
            os: s.os,
            platform: s.platform,
            bits: s.bits,
            patch_level: s.patchLevel,
            build_number: s.buildNumber,
            logged_on_user: s.loggedOnUser,
          });
    if (system !== undefined) tanium.system_info = system;
    const c = match.context;
    const recorderContext =
      c === undefined
        ? undefined
        : defined({
            unique_event_id: c.uniqueEventId,
            timestamp: c.timestamp,
            file_create_path: c.fileCreatePath,
            verb: c.verb,
            event_table_id: c.eventTableId,
          });
    if (recorderContext !== undefined) tanium.recorder_context = recorderContext;
  }
}

/**
 * The whole details as structured data, for what has no field above (B1's payload decoded from
 * its base64, B2's object or text alike), and where its copy was cut at 20 levels.
 */
function keepDetails(record: AlertRecord, tanium: ThreatResponseNamespace): void {
  if (record.details !== undefined) tanium.match_details = record.details;
  if (record.detailsTruncated !== undefined) tanium.truncated = record.detailsTruncated;
}

/** `Tanium Threat Response alert "Encoded PowerShell" on wks-0042: process powershell.exe (pid 7720)`. */
function messageOf(record: AlertRecord, doc: EcsDocument): string {
  const rule =
    record.intel.name ?? (record.intel.id === undefined ? "unknown rule" : `intel ${record.intel.id}`);
  const host = doc.host?.name ?? doc.host?.ip?.[0] ?? "unknown host";
  let text: string;
  if (record.phase === "intel_created" || record.phase === "intel_modified") {
    const who = doc.user?.name ?? (doc.user?.id === undefined ? "unknown user" : `user ${doc.user.id}`);
    const verb = record.phase === "intel_created" ? "created" : "modified";
    return `Tanium Threat Response intel "${rule}" ${verb} by ${who}`;
  }
  if (record.phase === "unmatch") text = `Tanium Threat Response match ended: "${rule}" on ${host}`;
  else if (record.phase === "other")
    text = `Tanium Threat Response ${record.eventName ?? "event"}: "${rule}" on ${host}`;
  else text = `Tanium Threat Response alert "${rule}" on ${host}`;
  const type = record.match?.type;
  const process = doc.process;
  const processText =
    process === undefined
      ? undefined
      : `process ${process.name ?? "unknown"}${process.pid === undefined ? "" : ` (pid ${process.pid})`}`;
  if (type === "file" && doc.file?.path !== undefined) return `${text}: file ${doc.file.path}`;
  if (type === "port" && (doc.source !== undefined || doc.destination !== undefined)) {
    const connection = `connection ${endpoint(doc.source)} -> ${endpoint(doc.destination)}`;
    return `${text}: ${connection}${processText === undefined ? "" : ` by ${processText}`}`;
  }
  if (processText !== undefined) return `${text}: ${processText}`;
  if (doc.file?.path !== undefined) return `${text}: file ${doc.file.path}`;
  return text;
}

function endpoint(e: EcsEndpoint | undefined): string {
  if (e?.ip === undefined) return e?.port === undefined ? "unknown" : `unknown:${e.port}`;
  const ip = e.ip.includes(":") ? `[${e.ip}]` : e.ip;
  return e.port === undefined ? ip : `${ip}:${e.port}`;
}

/** A deeper ancestor as kept under `tanium.threat_response.process_ancestry` (ECS-like names). */
interface AncestorDoc extends EcsProcessBase {
  user?: EcsUser;
}

/** `tanium.threat_response.*`: free-form (not ECS), named after the Tanium keys they come from. */
interface ThreatResponseNamespace {
  generation?: string;
  event_name?: string;
  priority?: string;
  severity?: string;
  eid?: string;
  computer_ip?: string;
  impact_score?: string;
  mitre_techniques?: string;
  other_parameters?: Record<string, string>;
  match?: object;
  finding?: object;
  system_info?: object;
  recorder_context?: object;
  process?: object;
  process_ancestry?: AncestorDoc[];
  process_ancestry_truncated?: boolean;
  file?: object;
  port?: object;
  match_details?: Record<string, unknown>;
  truncated?: string[];
}

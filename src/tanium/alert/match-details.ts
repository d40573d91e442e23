/**
 * @module tanium/alert/match-details
 * Reads the decoded B1 payload / B2 `Match Details` (events.md §3.3) into a MatchRecord, in one
 * walk: `match` (type, properties), `finding` (ids, times, system_info, whats[] with the acting
 * process and the relevant actions), and every hash on the way. Keys are looked up canonically
 * (`uniqueEventId` = `unique_event_id`), and a value of an unexpected type is absent (lenient.ts).
 */
import { isIP } from "node:net";
import { isObject, Keyed, type JsonObject } from "../keys.ts";
import { bool, date, id, int, text } from "./lenient.ts";
import type {
  AlertProcessRecord,
  AlertUser,
  FileArtifactRecord,
  FindingRecord,
  MatchRecord,
  PortArtifactRecord,
  ProcessChainRecord,
  RecorderContextRecord,
  SignatureRecord,
  SystemInfoRecord,
} from "./record.ts";

/**
 * Ancestors read above the matched process. ELA caps the whole payload's nesting at 20 (about as
 * many parent levels in `match.properties`), and GCH-TR has seen 7 levels of `parent_process`:
 * 16 keeps every chain seen with room to spare, while bounding the work and the document's size
 * for a hostile chain. Deeper input is not read, and the record says so (`truncated`).
 */
export const MAX_ANCESTRY_DEPTH = 16;
/** Bounds on the arrays walked (`whats`, `relevant_actions`, `contexts`, intra ids, hashes). */
export const MAX_ITEMS = 64;

/** One walk's state: the raw text for 64-bit digits, the hashes seen, the port's process. */
class Walk {
  readonly raw: string | undefined;
  readonly hashes: string[] = [];
  /** `relevant_actions[].target.port.process`: the connecting process, as the finding has it. */
  portProcess: Keyed | undefined;

  constructor(raw: string | undefined) {
    this.raw = raw;
  }

  /** A 64-bit id under `canonical` in `k`, digits rescued from the raw text. */
  id(k: Keyed | undefined, ...canonicals: readonly string[]): string | undefined {
    if (k === undefined) return undefined;
    for (const canonical of canonicals) {
      const value = k.get(canonical);
      if (value !== undefined && value !== null) return id(value, k.keyOf(canonical), this.raw);
    }
    return undefined;
  }

  hash(value: unknown): string | undefined {
    const h = text(value);
    if (h !== undefined && this.hashes.length < MAX_ITEMS && !this.hashes.includes(h)) this.hashes.push(h);
    return h;
  }
}

export function readMatchDetails(details: JsonObject, raw: string | undefined): MatchRecord {
  const walk = new Walk(raw);
  const root = new Keyed(details);
  const match = root.child("match");
  const props = match?.child("properties");
  const type = text(match?.get("type"))?.toLowerCase();
  const findingKeyed = root.child("finding");

  const record: MatchRecord = {
    type,
    source: text(match?.get("source")),
    hash: walk.id(match, "hash"),
    version: int(match?.get("version")),
    intelId: walk.id(root, "intelid"),
    configId: walk.id(root, "configid"),
    configRevId: walk.id(root, "configrevid"),
    finding: { intelIntraIds: [] },
    hashes: walk.hashes,
  };

  // The matched artifact, from `match.properties` by type.
  let matchedProcess: Keyed | undefined;
  if (props !== undefined) {
    if (type === "process") matchedProcess = props;
    else if (type === "file") record.file = readFile(props, walk);
    else if (type === "port") {
      record.port = readPort(props);
      matchedProcess = props.child("process");
    }
  }
  record.context = readMatchContexts(match);

  // The finding: ids and times, then each `what`'s acting process and relevant actions.
  let actingProcess: Keyed | undefined;
  if (findingKeyed !== undefined) {
    record.finding = readFinding(findingKeyed, walk);
    const whats = findingKeyed.get("whats");
    if (Array.isArray(whats)) {
      for (let i = 0; i < whats.length && i < MAX_ITEMS; i++) {
        const what = whats[i];
        if (!isObject(what)) continue;
        const w = new Keyed(what);
        readIntraIds(w, record.finding.intelIntraIds, walk);
        const activity = w.child("artifactactivity");
        if (activity === undefined) continue;
        const acting = activity.child("actingartifact");
        if (acting !== undefined) {
          const process = acting.child("process");
          if (process !== undefined && actingProcess === undefined) actingProcess = process;
          // The acting process's hashes are added by the chain reader below (once).
          record.isIntelTarget ??= bool(acting.get("isinteltarget"));
        }
        readActions(activity, record, walk);
      }
    }
  }

  // The matched process (match.properties), the port target's (finding), the acting one: one
  // process seen three ways, each adding what the others lack.
  record.process = readChain([matchedProcess, walk.portProcess, actingProcess], walk);
  return record;
}

function readFinding(f: Keyed, walk: Walk): FindingRecord {
  const finding: FindingRecord = {
    id: walk.id(f, "findingid", "id"),
    threatId: walk.id(f, "threatid"),
    huntId: walk.id(f, "huntid"),
    reportingId: walk.id(f, "reportingid"),
    domain: text(f.get("domain")),
    sourceName: text(f.get("sourcename")),
    typeId: walk.id(f, "typeid"),
    description: text(f.get("description")),
    firstSeen: date(f.get("firstseen")),
    lastSeen: date(f.get("lastseen")),
    intelIntraIds: [],
  };
  const intel = walk.id(f, "intelid");
  if (intel !== undefined) {
    // `<intel id>:<revision>:<uuid>` (events.md §3.3); a bare id is the id alone.
    const first = intel.indexOf(":");
    if (first < 0) finding.intel = { id: intel };
    else {
      const second = intel.indexOf(":", first + 1);
      finding.intel = {
        id: intel.slice(0, first) || undefined,
        revision: (second < 0 ? intel.slice(first + 1) : intel.slice(first + 1, second)) || undefined,
        uuid: second < 0 ? undefined : intel.slice(second + 1) || undefined,
      };
    }
  }
  const system = f.child("systeminfo");
  if (system !== undefined) finding.system = readSystemInfo(system, walk);
  // `finding.artifact` (Windows Defender, SEN/GCH-TR/CYD) carries no file hash of its own.
  return finding;
}

function readSystemInfo(s: Keyed, walk: Walk): SystemInfoRecord {
  return {
    os: stripQuotes(text(s.get("os"))),
    platform: text(s.get("platform")),
    bits: int(s.get("bits")),
    patchLevel: text(s.get("patchlevel")),
    buildNumber: walk.id(s, "buildnumber"),
    loggedOnUser: text(s.get("loggedonuser")),
  };
}

/** `"\"Ubuntu 22.04.4 LTS\""` → `Ubuntu 22.04.4 LTS` (the endpoint's os-release quoting). */
function stripQuotes(value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  let start = 0;
  let end = value.length;
  while (start < end && (value[start] === '"' || value[start] === " ")) start++;
  while (end > start && (value[end - 1] === '"' || value[end - 1] === " ")) end--;
  return start === end ? undefined : value.slice(start, end);
}

function readIntraIds(what: Keyed, ids: string[], walk: Walk): void {
  const list = what.get("intelintraids");
  if (!Array.isArray(list)) return;
  for (let i = 0; i < list.length && i < MAX_ITEMS && ids.length < MAX_ITEMS; i++) {
    const item = list[i];
    if (!isObject(item)) continue;
    const value = walk.id(new Keyed(item), "idv2", "id");
    if (value !== undefined && !ids.includes(value)) ids.push(value);
  }
}

/** `relevant_actions[]`: the first target file/port and recorder context fill what is still empty. */
function readActions(activity: Keyed, record: MatchRecord, walk: Walk): void {
  const actions = activity.get("relevantactions");
  if (!Array.isArray(actions)) return;
  for (let i = 0; i < actions.length && i < MAX_ITEMS; i++) {
    const action = actions[i];
    if (!isObject(action)) continue;
    const a = new Keyed(action);
    const target = a.child("target");
    if (target !== undefined) {
      record.isIntelTarget ??= bool(target.get("isinteltarget"));
      const file = target.child("file");
      if (file !== undefined) {
        const read = readFile(file, walk);
        // The matched file (file match) and the action's target are one file when the paths
        // agree: the target adds what the match lacks (modification time, size).
        if (record.file === undefined) record.file = read;
        else if (
          read.path === undefined ||
          record.file.path === undefined ||
          read.path === record.file.path
        ) {
          record.file = { ...read, ...defined(record.file) };
        }
      }
      const port = target.child("port");
      if (port !== undefined) {
        const read = readPort(port);
        // The matched port (port match) and the action's target are one connection when their
        // ends agree: the target adds what the match lacks (connection time).
        if (record.port === undefined) record.port = read;
        else if (samePort(record.port, read)) record.port = { ...read, ...defined(record.port) };
        if (walk.portProcess === undefined && (record.port === read || samePort(record.port, read))) {
          walk.portProcess = port.child("process");
        }
      }
    }
    if (i === 0 || record.context === undefined) {
      const context = readRecorderContext(a.child("taniumrecordercontext"));
      context.verb = int(a.get("verb"));
      context.timestamp ??= date(a.get("timestamp"));
      context.eventTableId = walk.id(a, "taniumrecordereventtableid");
      record.context = record.context === undefined ? context : { ...context, ...defined(record.context) };
    }
  }
}

/** `match.contexts[0]`: the camelCase spelling of the recorder context (events.md §3.3). */
function readMatchContexts(match: Keyed | undefined): RecorderContextRecord | undefined {
  const contexts = match?.get("contexts");
  if (!Array.isArray(contexts)) return undefined;
  const first: unknown = contexts[0];
  if (!isObject(first)) return undefined;
  const context = readRecorderContext(new Keyed(first));
  return hasValue(context) ? context : undefined;
}

function readRecorderContext(c: Keyed | undefined): RecorderContextRecord {
  if (c === undefined) return {};
  const file = c.child("file");
  const event = c.child("event");
  return {
    uniqueEventId:
      file === undefined ? undefined : id(file.get("uniqueeventid"), file.keyOf("uniqueeventid")),
    timestamp: date(event?.get("timestampms")),
    fileCreatePath: text(event?.child("filecreate")?.get("path")),
  };
}

/** A file: the match's `fullpath`/`md5`/…/`size`, or the finding's `path`/`hash{}`/`size_bytes`. */
function readFile(k: Keyed, walk: Walk): FileArtifactRecord {
  // Chronicle reads both `match.properties.file.fullpath` and `match.properties.fullpath`.
  const nested = k.child("file");
  const hash = k.child("hash") ?? k.child("hashes") ?? nested?.child("hash");
  const pick = (canonical: string): unknown =>
    k.get(canonical) ?? hash?.get(canonical) ?? nested?.get(canonical);
  return {
    path: text(k.get("fullpath") ?? k.get("path") ?? nested?.get("fullpath") ?? nested?.get("path")),
    md5: walk.hash(pick("md5")),
    sha1: walk.hash(pick("sha1")),
    sha256: walk.hash(pick("sha256")),
    size: nonNegative(int(k.get("size") ?? k.get("sizebytes") ?? nested?.get("size"))),
    modified: date(k.get("modificationtime") ?? k.get("mtime")),
    magicNumberHex: text(k.get("magicnumberhex")),
    signature: readSignature(k.child("signaturedata") ?? nested?.child("signaturedata")),
  };
}

function readPort(k: Keyed): PortArtifactRecord {
  return {
    localIp: ip(k.get("localip")),
    localPort: port(k.get("localport")),
    remoteIp: ip(k.get("remoteip")),
    remotePort: port(k.get("remoteport")),
    connectionTime: date(k.get("connectiontime")),
  };
}

/** Whether two reports of a port can be one connection: no end that both give differs. */
function samePort(a: PortArtifactRecord, b: PortArtifactRecord): boolean {
  const agree = <T>(x: T | undefined, y: T | undefined): boolean =>
    x === undefined || y === undefined || x === y;
  return (
    agree(a.localIp, b.localIp) &&
    agree(a.localPort, b.localPort) &&
    agree(a.remoteIp, b.remoteIp) &&
    agree(a.remotePort, b.remotePort)
  );
}

function ip(value: unknown): string | undefined {
  const t = text(value)?.trim();
  return t !== undefined && isIP(t) !== 0 ? t : undefined;
}

function port(value: unknown): number | undefined {
  const n = int(value);
  return n !== undefined && n >= 0 && n <= 65535 ? n : undefined;
}

function nonNegative(n: number | undefined): number | undefined {
  return n !== undefined && n >= 0 ? n : undefined;
}

function readSignature(s: Keyed | undefined): SignatureRecord | undefined {
  if (s === undefined) return undefined;
  const signature = {
    subject: text(s.get("subject")),
    issuer: text(s.get("issuer")),
    status: text(s.get("status")),
  };
  return hasValue(signature) ? signature : undefined;
}

/**
 * The process chain from several reports of it, first one first: the matched process and its
 * `parent`s (`match.properties`), the port target's process and the finding's acting process
 * (`acting_artifact.process`; their parents nest as `parent.process`), which add the user id,
 * the signature, the hashes. Merged level by level: a report is the same process when its pid
 * agrees with what is merged so far (or one has none); from the first level it disagrees, that
 * report is left out.
 */
function readChain(reports: readonly (Keyed | undefined)[], walk: Walk): ProcessChainRecord | undefined {
  const sources = [...reports];
  const levels: AlertProcessRecord[] = [];
  let truncated = false;
  while (sources.some((s) => s !== undefined)) {
    if (levels.length > MAX_ANCESTRY_DEPTH) {
      truncated = true;
      break;
    }
    let level: AlertProcessRecord | undefined;
    for (let i = 0; i < sources.length; i++) {
      const source = sources[i];
      if (source === undefined) continue;
      const read = readProcess(source, walk);
      if (level === undefined) level = read;
      else if (level.pid !== undefined && read.pid !== undefined && level.pid !== read.pid) {
        sources[i] = undefined;
        continue;
      } else level = mergeProcess(level, read);
      sources[i] = parentOf(source);
    }
    if (level === undefined) break;
    levels.push(level);
  }
  const [process, ...ancestors] = levels;
  return process === undefined ? undefined : { process, ancestors, truncated };
}

/** `parent` as the match nests it, or `parent.process` as the finding does. */
function parentOf(k: Keyed): Keyed | undefined {
  const parent = k.child("parent");
  return parent?.child("process") ?? parent;
}

function readProcess(k: Keyed, walk: Walk): AlertProcessRecord {
  const file = k.child("file");
  const inner = file?.child("file");
  const hash = inner?.child("hash") ?? file?.child("hash") ?? k.child("hash");
  const pick = (canonical: string): unknown =>
    file?.get(canonical) ?? hash?.get(canonical) ?? k.get(canonical);
  return {
    pid: int(k.get("pid")),
    ppid: int(k.get("ppid")),
    name: text(k.get("name")),
    executable: text(file?.get("fullpath") ?? inner?.get("path") ?? file?.get("path")),
    commandLine: text(k.get("args") ?? k.get("arguments") ?? k.get("commandline")),
    workingDirectory: text(k.get("cwd")),
    uniqueId: walk.id(k, "recorderuniqueid", "taniumuniqueid"),
    tableId: walk.id(k, "taniumrecordertableid", "recordertableid"),
    start: date(k.get("starttime")),
    md5: walk.hash(pick("md5")),
    sha1: walk.hash(pick("sha1")),
    sha256: walk.hash(pick("sha256")),
    user: readUser(k.get("user")),
    signature: readSignature(inner?.child("signaturedata") ?? file?.child("signaturedata")),
  };
}

/** `DOMAIN\name` (`NT AUTHORITY\SYSTEM`, `root\root`), or `{user: {name, domain, user_id, group_id}}`. */
export function readUser(value: unknown): AlertUser | undefined {
  if (typeof value === "string") return splitAccount(value);
  if (!isObject(value)) return undefined;
  let k = new Keyed(value);
  k = k.child("user") ?? k;
  const user: AlertUser = {
    name: text(k.get("name")),
    domain: text(k.get("domain")),
    id: text(k.get("userid") ?? k.get("id") ?? k.get("sid") ?? k.get("uid")),
    groupId: text(k.get("groupid") ?? k.get("gid")),
  };
  return hasValue(user) ? user : undefined;
}

/** `CONTOSO\jürgen.müller` → domain CONTOSO, name jürgen.müller; a bare name is the name. */
export function splitAccount(account: string): AlertUser | undefined {
  const at = account.indexOf("\\");
  if (at < 0) return account === "" ? undefined : { name: account };
  const domain = account.slice(0, at);
  const name = account.slice(at + 1);
  const user: AlertUser = {};
  if (name !== "") user.name = name;
  if (domain !== "") user.domain = domain;
  return hasValue(user) ? user : undefined;
}

/** `a`'s values, with `b` filling what `a` lacks (users merged member by member). */
function mergeProcess(a: AlertProcessRecord, b: AlertProcessRecord): AlertProcessRecord {
  const merged: AlertProcessRecord = { ...defined(b), ...defined(a) };
  if (a.user !== undefined && b.user !== undefined) merged.user = { ...defined(b.user), ...defined(a.user) };
  return merged;
}

/** A copy without undefined members, so that a spread does not overwrite with undefined. */
function defined<T extends object>(value: T): Partial<T> {
  const out: Partial<T> = {};
  for (const key in value) if (value[key] !== undefined) out[key] = value[key];
  return out;
}

function hasValue(value: object): boolean {
  for (const item of Object.values(value)) if (item !== undefined) return true;
  return false;
}

/**
 * @module tanium/alert/read
 * Recognizes a Threat Response alert (events.md §6.1: `Alert Id` or `Match Details` ⇒ B2 "Match
 * Alerts Raw"; `Event Name` or `Other Parameters` ⇒ B1 `detect.match`/`detect.unmatch`) under any
 * spelling of those keys, and reads it into a typed AlertRecord. Both generations go through one
 * reader: they share most columns, and a column of the other generation is read, not dropped.
 *
 * Columns are read strictly, as the recorder shape's are (a value of the wrong type is a
 * FieldTypeError, i.e. an ERR_FIELD_TYPE dead letter), except that `{}`/`[]` where a scalar is
 * expected is no value (Tanium's empty value, events.md §0.4) and that `Computer IP` may be text
 * such as `N/A` (SEN). A payload that cannot be read is an ERR_PAYLOAD dead letter (see below).
 */
import { FieldTypeError } from "../../errors.ts";
import { readDate, readIp, readString } from "../values.ts";
import { canonicalKey, isObject, Keyed, MAX_KEYS_PER_OBJECT, type JsonObject } from "../keys.ts";
import { id, num } from "./lenient.ts";
import { readMatchDetails } from "./match-details.ts";
import { copyDetails } from "./details.ts";
import { decodePayload, parseJsonObject, splitOtherParameters, type Decoded } from "./other-parameters.ts";
import type { AlertGeneration, AlertPhase, AlertRecord, AlertUser, MitreRecord } from "./record.ts";

const B2_KEYS: ReadonlySet<string> = new Set(["alertid", "matchdetails"]);
const B1_KEYS: ReadonlySet<string> = new Set(["eventname", "otherparameters"]);

/** Labels and technique ids kept from one alert; more is hostile input. */
const MAX_LIST = 64;

/** Which generation an object is, or undefined when it is no alert. Reads keys, not values. */
export function alertGeneration(value: JsonObject): AlertGeneration | undefined {
  // Connect's own spelling first: no key walk for the common case.
  if (value["Alert Id"] !== undefined || value["Match Details"] !== undefined) return "match_alerts_raw";
  if (value["Event Name"] !== undefined || value["Other Parameters"] !== undefined) return "legacy";
  let legacy = false;
  let n = 0;
  for (const key in value) {
    if (++n > MAX_KEYS_PER_OBJECT) break;
    const canonical = canonicalKey(key);
    if (B2_KEYS.has(canonical)) return "match_alerts_raw";
    if (B1_KEYS.has(canonical)) legacy = true;
  }
  return legacy ? "legacy" : undefined;
}

export function isAlertShape(value: JsonObject): boolean {
  return alertGeneration(value) !== undefined;
}

/**
 * The typed alert. `source` is the whole raw line, where exact digits of 64-bit numbers in a B2
 * `Match Details` object are read back from. Throws FieldTypeError (ERR_FIELD_TYPE, ERR_PAYLOAD).
 */
export function readAlert(value: JsonObject, source: string): AlertRecord {
  const k = new Keyed(value);
  const generation = alertGeneration(value) ?? "legacy";
  const eventName = str(k, "eventname", "Event Name");
  const record: AlertRecord = {
    shape: "alert",
    generation,
    phase: phaseOf(eventName),
    eventName,
    id: str(k, "alertid", "Alert Id") ?? str(k, "eventid", "Event Id"),
    timestamp: readDate(scalar(k.get("timestamp")), k.keyOf("timestamp") ?? "Timestamp"),
    computerName: str(k, "computername", "Computer Name"),
    eid: str(k, "eid", "EID"),
    intel: {
      id: intelId(k.get("intelid"), k.keyOf("intelid") ?? "Intel Id", source),
      name: str(k, "intelname", "Intel Name"),
      type: str(k, "inteltype", "Intel Type"),
      source: str(k, "intelsource", "Intel Source"),
      labels: labelsOf(str(k, "intellabels", "Intel Labels")),
    },
    priority: str(k, "priority", "Priority"),
    severity: str(k, "severity", "Severity"),
    user: b1User(k),
    mitre: readMitre(
      scalarOrList(k.get("mitretechniques")),
      k.keyOf("mitretechniques") ?? "MITRE Techniques",
    ),
    link: str(k, "link", "Link"),
    unsafeKeys: 0,
  };
  readComputerIp(k, record);
  readImpactScore(k, record);
  readOtherParameters(k, record);
  readDetails(k, record, source);
  // B1 carries the intel id only inside the payload (`intel_id`, `finding.intel_id`).
  record.intel.id ??= record.match?.intelId ?? record.match?.finding.intel?.id;
  return record;
}

function phaseOf(eventName: string | undefined): AlertPhase {
  if (eventName === undefined) return "match";
  const name = eventName.trim().toLowerCase();
  if (name === "detect.match") return "match";
  if (name === "detect.unmatch") return "unmatch";
  if (name === "detect.service.intel.created") return "intel_created";
  if (name === "detect.service.intel.modified") return "intel_modified";
  return "other";
}

/** `{}` and `[]` are Tanium's "no value" where a scalar is expected; anything else is kept. */
function scalar(value: unknown): unknown {
  if (Array.isArray(value)) return value.length === 0 ? undefined : value;
  if (isObject(value)) {
    for (const key in value) if (Object.hasOwn(value, key)) return value;
    return undefined;
  }
  return value;
}

/** Like scalar, but a non-empty array is a value (`MITRE Techniques` as a real array). */
function scalarOrList(value: unknown): unknown {
  return Array.isArray(value) ? value : scalar(value);
}

function str(k: Keyed, canonical: string, name: string): string | undefined {
  return readString(scalar(k.get(canonical)), k.keyOf(canonical) ?? name);
}

function intelId(value: unknown, field: string, source: string): string | undefined {
  const v = scalar(value);
  if (v === undefined || v === null || v === "") return undefined;
  if (typeof v === "string" || typeof v === "number") return id(v, field, source) ?? String(v);
  throw new FieldTypeError(field, "an intel id (a number or text)", v);
}

function labelsOf(text: string | undefined): string[] {
  const labels: string[] = [];
  if (text === undefined) return labels;
  for (const part of text.split(",", MAX_LIST)) {
    const label = part.trim();
    if (label !== "" && !labels.includes(label)) labels.push(label);
  }
  return labels;
}

function b1User(k: Keyed): AlertUser {
  const user: AlertUser = {};
  const name = str(k, "username", "User Name");
  const domain = str(k, "userdomain", "User Domain");
  const uid = str(k, "userid", "User Id");
  if (name !== undefined) user.name = name;
  if (domain !== undefined) user.domain = domain;
  if (uid !== undefined) user.id = uid;
  return user;
}

/** `Computer IP` is IPv4, IPv6 or `N/A` (SEN's rule filters `N/A`): text that is no address is kept as text. */
function readComputerIp(k: Keyed, record: AlertRecord): void {
  const field = k.keyOf("computerip") ?? "Computer IP";
  const text = readString(scalar(k.get("computerip")), field);
  if (text === undefined) return;
  try {
    record.computerIp = readIp(text, field);
  } catch {
    record.computerIpText = text;
  }
}

/** `Impact Score`: a number or `""` (ELA); numeric text is read as a number, other text kept as text. */
function readImpactScore(k: Keyed, record: AlertRecord): void {
  const value = scalar(k.get("impactscore"));
  if (value === undefined || value === null || value === "") return;
  const score = num(typeof value === "string" ? value.trim() : value);
  if (score !== undefined) record.impactScore = score;
  else if (typeof value === "string") record.impactScoreText = value;
  else throw new FieldTypeError(k.keyOf("impactscore") ?? "Impact Score", "a number", value);
}

const TECHNIQUE = /^T\d{4}(?:\.\d{3})?$/;

/**
 * `MITRE Techniques`: a JSON array inside a string (`"[\"T1059.001\",\"T1027\"]"`, ELA; XSIAM
 * `json_extract_array`), or a real array. Text that is not such an array, or entries that are not
 * technique ids, are not guessed at: the valid ids are kept and the column is kept as sent.
 */
function readMitre(value: unknown, field: string): MitreRecord {
  const mitre: MitreRecord = { techniques: [] };
  if (value === undefined || value === null || value === "") return mitre;
  let list: unknown = value;
  if (typeof value === "string") {
    try {
      list = JSON.parse(value);
    } catch {
      mitre.unparsed = value;
      return mitre;
    }
  }
  if (!Array.isArray(list)) {
    if (typeof value === "string") mitre.unparsed = value;
    else throw new FieldTypeError(field, "a JSON array of technique ids, or its text", value);
    return mitre;
  }
  let clean = true;
  for (let i = 0; i < list.length; i++) {
    const item: unknown = list[i];
    const technique = typeof item === "string" ? item.trim().toUpperCase() : undefined;
    if (technique === undefined || !TECHNIQUE.test(technique)) clean = false;
    else if (!mitre.techniques.includes(technique) && mitre.techniques.length < MAX_LIST) {
      mitre.techniques.push(technique);
    }
  }
  if (!clean) mitre.unparsed = typeof value === "string" ? value : JSON.stringify(list.slice(0, MAX_LIST));
  return mitre;
}

const KNOWN_PARAMETERS: ReadonlySet<string> = new Set(["name", "source", "type", "payload"]);

/** B1 `Other Parameters`: rule name/source/type, the base64 payload, and any other pair kept. */
function readOtherParameters(k: Keyed, record: AlertRecord): void {
  const field = k.keyOf("otherparameters") ?? "Other Parameters";
  const text = readString(scalar(k.get("otherparameters")), field);
  if (text === undefined) return;
  let payload: string | undefined;
  for (const [key, value] of splitOtherParameters(text)) {
    const canonical = canonicalKey(key);
    if (!KNOWN_PARAMETERS.has(canonical)) {
      (record.otherParameters ??= Object.create(null) as Record<string, string>)[key] = value;
      continue;
    }
    const v = value.trim();
    if (v === "") continue;
    if (canonical === "payload") payload ??= v;
    // A B2 column of the same meaning, if the row has both, wins over the legacy parameter.
    else if (canonical === "name") record.intel.name ??= v;
    else if (canonical === "source") record.intel.source ??= v;
    else record.intel.type ??= v;
  }
  if (payload === undefined) return;
  const decoded = decodePayload(payload);
  takeDetails(record, decoded, `${field}.payload`, payload);
}

/**
 * B2 `Match Details`: an object, or (Sentinel, XSIAM) its JSON text. The text is parsed here, with
 * the line decoder's protections; an object was already checked by the line decoder.
 */
function readDetails(k: Keyed, record: AlertRecord, source: string): void {
  const field = k.keyOf("matchdetails") ?? "Match Details";
  const value = scalar(k.get("matchdetails"));
  if (value === undefined || value === null || value === "") return;
  if (isObject(value)) {
    keepDetails(record, value);
    record.match = readMatchDetails(value, source);
    return;
  }
  if (typeof value !== "string") {
    throw new FieldTypeError(field, "a JSON object or its text", value, "ERR_PAYLOAD");
  }
  const decoded = parseJsonObject(value);
  takeDetails(record, decoded, field, value);
}

/**
 * A payload that does not decode is a dead letter (ERR_PAYLOAD), not a partial alert: a partial
 * document would need `event.kind: pipeline_error` (the rule), and in this project that
 * kind is what a dead letter is, kept with its original line for a replay. Never dropped silently.
 */
function takeDetails(record: AlertRecord, decoded: Decoded, field: string, sent: string): void {
  if (!decoded.ok) {
    const expected =
      decoded.problem === "json" || decoded.problem === "not_an_object"
        ? `a JSON object (${decoded.detail})`
        : `base64 of a UTF-8 JSON object (${decoded.detail})`;
    throw new FieldTypeError(field, expected, sent, "ERR_PAYLOAD");
  }
  record.unsafeKeys += decoded.unsafeKeys;
  keepDetails(record, decoded.value);
  record.match = readMatchDetails(decoded.value, decoded.text);
}

/** The whole details, copied safely (details.ts), whichever generation and form they came in. */
function keepDetails(record: AlertRecord, details: JsonObject): void {
  const copy = copyDetails(details);
  record.details = copy.value;
  if (copy.truncated.length > 0) record.detailsTruncated = copy.truncated;
  record.unsafeKeys += copy.unsafeKeys;
}

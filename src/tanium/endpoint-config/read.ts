/**
 * @module tanium/endpoint-config/read
 * Recognizes an Endpoint Configuration audit row (a `config_item` or `manifest` key, and no
 * `table`: it has an `action` like a Threat Response audit row, which always has a `table`;
 * connect-exports.md §4) and reads it into a typed EndpointConfigRecord. Throws FieldTypeError
 * for a value of the wrong type.
 */
import { FieldTypeError } from "../../errors.ts";
import { countColumns } from "../columns.ts";
import { isObject, Keyed, unmappedColumns } from "../keys.ts";
import { checkUnmappedDepth, readDate, readInt, readString, readUid } from "../values.ts";
import type { ConfigChange, EndpointConfigRecord, ManifestItemRecord, ManifestRecord } from "./record.ts";

const MARKERS = new Set(["configitem", "manifest"]);
const TABLE = new Set(["table"]);

const KNOWN = new Set(["timestamp", "action", "user", "configitem", "module", "manifest"]);
const USER_KEYS = new Set(["userid", "personaid"]);
const ITEM_KEYS = new Set(["id", "domain", "datacategory", "description"]);
const MODULE_KEYS = new Set(["solutionid", "solutioncontextid"]);
const MANIFEST_KEYS = new Set([
  "windowssavedactionid",
  "nonwindowssavedactionid",
  "manifestrevision",
  "serviceuuid",
  "itemcount",
  "items",
]);

/**
 * Manifest items, and ids per item, read into the record; a longer list (hostile, or a very large
 * manifest) is also kept whole as sent under `manifest.items`, so no id is lost.
 */
const MAX_ITEMS = 256;

/** `AUDIT_ACTION_CREATED` and its siblings, by the last word. */
const CHANGES: ReadonlyMap<string, ConfigChange> = new Map([
  ["created", "created"],
  ["updated", "updated"],
  ["deleted", "deleted"],
]);

export function isEndpointConfigShape(value: Readonly<Record<string, unknown>>): boolean {
  return countColumns(value, MARKERS) > 0 && countColumns(value, TABLE) === 0;
}

export function readEndpointConfigRow(value: Readonly<Record<string, unknown>>): EndpointConfigRecord {
  const columns = new Keyed(value);
  const keyOf = (canonical: string): string => columns.keyOf(canonical) ?? canonical;
  const action = readString(columns.get("action"), keyOf("action"))?.trim();
  const record: EndpointConfigRecord = {
    shape: "endpoint_config",
    timestamp: readDate(columns.get("timestamp"), keyOf("timestamp")),
    action: action === "" ? undefined : action,
    unmapped: undefined,
    unmappedKeys: [],
  };
  if (record.action !== undefined) {
    const last =
      record.action
        .toLowerCase()
        .split(/[_\s.-]/)
        .pop() ?? "";
    record.change = CHANGES.get(last);
  }
  record.unmapped = unmappedColumns(columns, KNOWN, record.unmappedKeys);

  const user = child(columns, "user");
  if (user !== undefined) {
    record.userId = readUid(user.get("userid"), "user.user_id");
    record.personaId = readUid(user.get("personaid"), "user.persona_id");
    keepOthers(record, keyOf("user"), user, USER_KEYS);
  }
  const item = child(columns, "configitem");
  if (item !== undefined) {
    record.item = {
      id: readUid(item.get("id"), "config_item.id"),
      domain: text(item, "domain", "config_item.domain"),
      dataCategory: text(item, "datacategory", "config_item.data_category"),
      description: text(item, "description", "config_item.description"),
    };
    keepOthers(record, keyOf("configitem"), item, ITEM_KEYS);
  }
  const module = child(columns, "module");
  if (module !== undefined) {
    record.solutionId = text(module, "solutionid", "module.solution_id");
    record.solutionContextId = text(module, "solutioncontextid", "module.solution_context_id");
    keepOthers(record, keyOf("module"), module, MODULE_KEYS);
  }
  const manifest = child(columns, "manifest");
  if (manifest !== undefined) {
    record.manifest = readManifest(manifest);
    if (record.manifest.truncated) keepValue(record, "manifest.items", manifest.get("items"));
    keepOthers(record, keyOf("manifest"), manifest, MANIFEST_KEYS);
  }
  return record;
}

/** The nested object under `canonical`; a value of another type is a wrong type, not absent. */
function child(columns: Keyed, canonical: string): Keyed | undefined {
  const value = columns.get(canonical);
  if (value === undefined || value === null) return undefined;
  if (!isObject(value)) throw new FieldTypeError(columns.keyOf(canonical) ?? canonical, "an object", value);
  return new Keyed(value);
}

function text(object: Keyed, canonical: string, field: string): string | undefined {
  const value = readString(object.get(canonical), field)?.trim();
  return value === "" ? undefined : value;
}

function readManifest(manifest: Keyed): ManifestRecord {
  const out: ManifestRecord = {
    windowsSavedActionId: readUid(manifest.get("windowssavedactionid"), "manifest.windows_saved_action_id"),
    nonWindowsSavedActionId: readUid(
      manifest.get("nonwindowssavedactionid"),
      "manifest.non_windows_saved_action_id",
    ),
    revision: readInt(manifest.get("manifestrevision"), "manifest.manifest_revision"),
    serviceUuid: text(manifest, "serviceuuid", "manifest.service_uuid"),
    itemCount: readInt(manifest.get("itemcount"), "manifest.item_count"),
    items: [],
    truncated: false,
  };
  const items = manifest.get("items");
  if (items === undefined || items === null) return out;
  if (!Array.isArray(items)) throw new FieldTypeError("manifest.items", "an array", items);
  if (items.length > MAX_ITEMS) out.truncated = true;
  for (const [i, entry] of items.slice(0, MAX_ITEMS).entries()) {
    if (!isObject(entry)) throw new FieldTypeError(`manifest.items[${i}]`, "an object", entry);
    const keyed = new Keyed(entry);
    const item: ManifestItemRecord = {
      domain: text(keyed, "domain", `manifest.items[${i}].domain`),
      dataCategory: text(keyed, "datacategory", `manifest.items[${i}].data_category`),
      ids: [],
    };
    const ids = keyed.get("ids");
    if (Array.isArray(ids)) {
      if (ids.length > MAX_ITEMS) out.truncated = true;
      for (const id of ids.slice(0, MAX_ITEMS)) {
        const value = readUid(id, `manifest.items[${i}].ids`);
        if (value !== undefined) item.ids.push(value);
      }
    } else if (ids !== undefined && ids !== null) {
      throw new FieldTypeError(`manifest.items[${i}].ids`, "an array", ids);
    }
    out.items.push(item);
  }
  return out;
}

/** A nested object's keys no reader claims, kept under their path (`manifest.signature`). */
function keepOthers(
  record: EndpointConfigRecord,
  path: string,
  object: Keyed,
  known: ReadonlySet<string>,
): void {
  const others = object.others(known);
  if (others === undefined) return;
  for (const key in others) keepValue(record, `${path}.${key}`, others[key]);
}

function keepValue(record: EndpointConfigRecord, name: string, value: unknown): void {
  checkUnmappedDepth(name, value);
  (record.unmapped ??= Object.create(null) as Record<string, unknown>)[name] = value;
  record.unmappedKeys.push(name);
}

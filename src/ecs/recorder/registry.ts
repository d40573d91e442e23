/**
 * @module ecs/recorder/registry
 * Registry events → ECS `registry.*`: the hive abbreviated as ECS shows it (`HKLM`), the key
 * without its hive, and `registry.path` = hive\key\value. The hive spelling Tanium uses is not
 * confirmed (events.md §7), so every common spelling is recognized.
 * @see https://www.elastic.co/docs/reference/ecs/ecs-registry
 */
import type { EventSpec, FamilyMapper } from "./spec.ts";
import { defined, rowOf } from "./spec.ts";

const deleted: EventSpec = {
  category: "registry",
  type: "deletion",
  message: "Registry key {registry.path} deleted on {host.hostname}",
};

export const REGISTRY_EVENTS: Readonly<Record<string, EventSpec>> = {
  registry_create: {
    category: "registry",
    type: "creation",
    message: "New registry key {registry.path} created on {host.hostname}",
  },
  registry_set: {
    category: "registry",
    type: "change",
    message: "Registry key {registry.path} updated on {host.hostname}",
  },
  // INFERRED names (events.md §1.2): a key or a value deleted; both read the same keys.
  registry_delete: deleted,
  registry_key_delete: deleted,
  registry_value_delete: deleted,
};

/** Hive names, upper-cased, in the Win32, abbreviated and kernel (`\REGISTRY\…`) spellings. */
const HIVES: Readonly<Record<string, string>> = {
  HKEY_LOCAL_MACHINE: "HKLM",
  HKLM: "HKLM",
  "REGISTRY\\MACHINE": "HKLM",
  HKEY_USERS: "HKU",
  HKU: "HKU",
  "REGISTRY\\USER": "HKU",
  HKEY_CURRENT_USER: "HKCU",
  HKCU: "HKCU",
  HKEY_CLASSES_ROOT: "HKCR",
  HKCR: "HKCR",
  HKEY_CURRENT_CONFIG: "HKCC",
  HKCC: "HKCC",
};

/** The name Windows tools (regedit, Sysmon) give a key's unnamed default value. */
const DEFAULT_VALUE = "(Default)";

export const mapRegistryEvent: FamilyMapper = (record, doc) => {
  const { key: rawKey, valueName } = record.registry;
  const { hive, key } = rawKey === undefined ? { hive: undefined, key: undefined } : splitHive(rawKey);
  const value = valueName === "" ? DEFAULT_VALUE : valueName;
  const keyPath = [hive, key].filter((part) => part !== undefined && part !== "").join("\\");
  const path = [keyPath, value].filter((part) => part !== undefined && part !== "").join("\\");
  doc.registry = defined({ hive, key, value, path: path === "" ? undefined : path });
  return rowOf(REGISTRY_EVENTS, record.name);
};

export function splitHive(fullKey: string): { hive?: string; key: string } {
  const trimmed = fullKey.replace(/^\\+/, "");
  const parts = trimmed.split("\\");
  const one = parts[0]?.toUpperCase() ?? "";
  const two = parts.length > 1 ? `${one}\\${(parts[1] ?? "").toUpperCase()}` : one;
  const byTwo = HIVES[two];
  if (byTwo !== undefined && one === "REGISTRY") return { hive: byTwo, key: parts.slice(2).join("\\") };
  const byOne = HIVES[one];
  if (byOne !== undefined) return { hive: byOne, key: parts.slice(1).join("\\") };
  return { key: trimmed };
}

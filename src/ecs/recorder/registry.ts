/**
 * @module ecs/recorder/registry
 * Registry events → ECS `registry.*`: the hive abbreviated as ECS shows it (`HKLM`), the key
 * without its hive, and `registry.path` = hive\key\value (the hive split is tanium/registry.ts).
 * @see https://www.elastic.co/docs/reference/ecs/ecs-registry
 */
import { splitHive } from "../../tanium/registry.ts";
import type { EventSpec, FamilyMapper } from "./spec.ts";
import { defined } from "../common/objects.ts";
import { rowOf } from "./spec.ts";

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

/**
 * @module ecs/alert/host-os
 * ECS `host.os.*` from a finding's `system_info` (events.md §3.3). `full` is the os text (quotes
 * already removed); `type`/`platform` come from the `platform` text only (a Windows os text stands
 * in when the platform is missing); `name`/`version` only where the text splits safely:
 * - Windows (`Microsoft Windows 11 Enterprise`): `name` is the text; no `version` (the product
 *   number is not the OS version, and `patch_level` is kept under `tanium`).
 * - Others (`<name> [release] <version> …`): `name` is the words before the first word that is a
 *   dotted number, without a trailing `release`; `version` is that number (`Rocky Linux release
 *   9.4 (Blue Onyx)` → `Rocky Linux`, `9.4`; `Ubuntu 22.04.4 LTS` → `Ubuntu`, `22.04.4`).
 *   No such word: neither is set. The first word is never taken as the platform.
 */
import type { SystemInfoRecord } from "../../tanium/alert/record.ts";
import type { EcsOs } from "../document.ts";
import { OS_PLATFORMS } from "./tables.ts";

const VERSION = /^\d+(?:\.\d+)*$/;
const WINDOWS = /^(?:microsoft\s+)?windows\b/i;

/** Parsed os texts: a fleet has few distinct ones. Bounded: the text comes from the input. */
const parsed = new Map<string, { name?: string; version?: string }>();
const MAX_CACHED = 1024;

export function hostOs(system: SystemInfoRecord | undefined): EcsOs | undefined {
  if (system === undefined) return undefined;
  const full = system.os;
  const platformText = system.platform?.trim().toLowerCase();
  let row = platformText === undefined ? undefined : OS_PLATFORMS.get(platformText);
  const windowsText = full !== undefined && WINDOWS.test(full);
  if (row === undefined && windowsText) row = OS_PLATFORMS.get("windows");
  const os: EcsOs = {};
  if (row !== undefined) {
    os.type = row.type;
    os.platform = row.platform;
  }
  if (full !== undefined) {
    os.full = full;
    const names = windowsText ? { name: full } : nameAndVersion(full);
    if (names.name !== undefined) os.name = names.name;
    if (names.version !== undefined) os.version = names.version;
  }
  return os.type === undefined && os.full === undefined ? undefined : os;
}

function nameAndVersion(full: string): { name?: string; version?: string } {
  let result = parsed.get(full);
  if (result !== undefined) return result;
  result = {};
  const words = full.split(/\s+/).filter((w) => w !== "");
  const at = words.findIndex((w, i) => i > 0 && VERSION.test(w));
  if (at > 0) {
    const nameWords = words.slice(0, at);
    if (nameWords.length > 1 && nameWords[nameWords.length - 1]?.toLowerCase() === "release") nameWords.pop();
    result = { name: nameWords.join(" "), version: words[at] as string };
  }
  if (parsed.size < MAX_CACHED) parsed.set(full, result);
  return result;
}

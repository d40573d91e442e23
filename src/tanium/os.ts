/**
 * @module tanium/os
 * What a Threat Response finding's `system_info` (events.md §3.3) says about the endpoint's OS.
 * `full` is the os text (quotes already removed); the family and platform come from the
 * `platform` text only (a Windows os text stands in when the platform is missing); `name` and
 * `version` only where the text splits safely:
 * - Windows (`Microsoft Windows 11 Enterprise`): `name` is the text up to a dotted number, if
 *   any (`windows 10.00.0` is `windows`: ECS `name` is "without the version"; a product number
 *   such as `11` stays, it is part of the product name). `version` is `patch_level`
 *   (`10.0.22631.3296`: major.minor.build.revision, what `ver` shows), else `build_number`;
 *   never the product number.
 * - Others (`<name> [release] <version> …`): `name` is the words before the first word that is a
 *   dotted number, without a trailing `release`; `version` is that number (`Rocky Linux release
 *   9.4 (Blue Onyx)` → `Rocky Linux`, `9.4`; `Ubuntu 22.04.4 LTS` → `Ubuntu`, `22.04.4`).
 *   No such word: neither is set. The first word is never taken as the platform.
 */
import type { SystemInfoRecord } from "./alert/record.ts";

/**
 * The OS family. The names are ECS `host.os.type`'s allowed values (linux, macos, unix, windows),
 * which are also OCSF's OS type names in lower case.
 */
export type OsFamily = "windows" | "linux" | "macos" | "unix";

export interface OsPlatform {
  readonly family: OsFamily;
  /** The platform's usual short name (ECS `host.os.platform` examples: darwin, windows). */
  readonly platform: string;
}

/**
 * `system_info.platform` (lower case) → family and platform. Only `Windows` and `Linux` are seen
 * (events.md §3.3); the rest are the obvious spellings.
 */
const OS_PLATFORMS: ReadonlyMap<string, OsPlatform> = new Map([
  ["windows", { family: "windows", platform: "windows" }],
  ["linux", { family: "linux", platform: "linux" }],
  ["mac", { family: "macos", platform: "darwin" }],
  ["macos", { family: "macos", platform: "darwin" }],
  ["mac os x", { family: "macos", platform: "darwin" }],
  ["darwin", { family: "macos", platform: "darwin" }],
  ["solaris", { family: "unix", platform: "solaris" }],
  ["aix", { family: "unix", platform: "aix" }],
]);

export interface OsDescription {
  family?: OsFamily;
  platform?: string;
  full?: string;
  name?: string;
  version?: string;
}

const VERSION = /^\d+(?:\.\d+)*$/;
const DOTTED_VERSION = /^\d+(?:\.\d+)+$/;
const WINDOWS = /^(?:microsoft\s+)?windows\b/i;

/** Parsed os texts: a fleet has few distinct ones. Bounded: the text comes from the input. */
const parsed = new Map<string, { name?: string; version?: string }>();
const MAX_CACHED = 1024;

export function describeOs(system: SystemInfoRecord | undefined): OsDescription | undefined {
  if (system === undefined) return undefined;
  const full = system.os;
  const platformText = system.platform?.trim().toLowerCase();
  let row = platformText === undefined ? undefined : OS_PLATFORMS.get(platformText);
  const windowsText = full !== undefined && WINDOWS.test(full);
  if (row === undefined && windowsText) row = OS_PLATFORMS.get("windows");
  const os: OsDescription = {};
  if (row !== undefined) {
    os.family = row.family;
    os.platform = row.platform;
  }
  if (full !== undefined) {
    os.full = full;
    const names = windowsText ? windowsName(full) : nameAndVersion(full);
    if (names.name !== undefined) os.name = names.name;
    if (names.version !== undefined) os.version = names.version;
  }
  if (os.family === "windows") {
    const version = windowsVersion(system.patchLevel) ?? windowsVersion(system.buildNumber);
    if (version !== undefined) os.version = version;
  }
  return os.family === undefined && os.full === undefined ? undefined : os;
}

/** A Windows os text: the words before the first dotted number; the number is no version here. */
function windowsName(full: string): { name?: string; version?: string } {
  const words = full.split(/\s+/).filter((w) => w !== "");
  const at = words.findIndex((w) => DOTTED_VERSION.test(w));
  if (at < 0) return { name: full };
  return at === 0 ? {} : { name: words.slice(0, at).join(" ") };
}

/** `patch_level`/`build_number` when it is a version number (digits and dots), else nothing. */
function windowsVersion(value: string | undefined): string | undefined {
  const text = value?.trim();
  return text !== undefined && VERSION.test(text) ? text : undefined;
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

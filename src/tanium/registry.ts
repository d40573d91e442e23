/**
 * @module tanium/registry
 * Windows registry paths as endpoints report them: the hive in its Win32 (`HKEY_LOCAL_MACHINE`),
 * abbreviated (`HKLM`) or kernel (`\REGISTRY\MACHINE`) spelling, then the key. Which spelling
 * Tanium uses is not confirmed (events.md §7), so every common one is recognized.
 */

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

/**
 * The hive in its abbreviated spelling (`HKLM`, as ECS `registry.hive` shows it) and the key
 * below it; a path whose first component is no hive has no `hive`, and is the key.
 */
export function splitHive(fullKey: string): { hive?: string; key: string } {
  const trimmed = fullKey.replace(/^\\+/, "");
  const parts = trimmed.split("\\");
  const one = parts[0]?.toUpperCase() ?? "";
  const two = parts.length > 1 ? `${one}\\${(parts[1] ?? "").toUpperCase()}` : one;
  const byTwo = HIVES[two];
  if (byTwo !== undefined && one === "REGISTRY") return { hive: byTwo, key: parts.slice(2).join("\\") };
  const byOne = Object.hasOwn(HIVES, one) ? HIVES[one] : undefined;
  if (byOne !== undefined) return { hive: byOne, key: parts.slice(1).join("\\") };
  return { key: trimmed };
}

/**
 * @module ecs/alert/tables
 * The ECS choices for Threat Response alerts, as tables. Every category/type pair here is allowed
 * by ECS 9.4 (`ecs-allowed-values.json`): `intrusion_detection` and `malware` expect `info`;
 * `process` and `network` also accept `end`, `file` does not; `indicator` belongs to `threat` only.
 */

/**
 * `match.type` → `event.category` (events.md §1.3, §3.3): the detection category first, then the
 * kind of artifact matched. A port match is a network connection of a process.
 */
export const MATCH_CATEGORIES: Readonly<Record<string, readonly string[]>> = {
  process: ["intrusion_detection", "process"],
  file: ["intrusion_detection", "file"],
  port: ["intrusion_detection", "network"],
};

/** An alert whose payload is missing or of another match type: a detection, nothing more known. */
export const DEFAULT_CATEGORIES: readonly string[] = ["intrusion_detection"];

/**
 * Intel types that are verdicts on malware, adding ECS `malware` to the categories. Only Tanium's
 * Reputation intel (hash verdicts from reputation providers; Exabeam's "Reputation Malicious Files")
 * says "malicious"; an IOC, a YARA or a Signal match may be any suspicious activity, so it is not
 * called malware. Compared in lower case.
 */
export const MALWARE_INTEL_TYPES: ReadonlySet<string> = new Set(["reputation"]);

/**
 * `detect.unmatch` (meaning undocumented, events.md §1.3) is read as the end of a match: `end` is
 * added to `event.type` where one of the categories allows it (process, network).
 */
export const END_CATEGORIES: ReadonlySet<string> = new Set(["process", "network"]);

/**
 * `Priority` → `event.severity` (a number; ECS leaves the scale to the source). The scale is
 * Elastic Security's rule severity → risk score bands (low 21, medium 47, high 73, critical 99),
 * with 1 for informational, so alerts sort with Elastic's own. Only `high` has been seen
 * (events.md §7); an unknown value sets no severity and is kept under `tanium.threat_response`.
 */
export const PRIORITY_SEVERITY: ReadonlyMap<string, number> = new Map([
  ["info", 1],
  ["informational", 1],
  ["low", 21],
  ["medium", 47],
  ["moderate", 47],
  ["high", 73],
  ["critical", 99],
]);

/** `event.action` by phase: the B1 event name, in the project's hyphenated spelling. */
export const PHASE_ACTIONS = { match: "detect-match", unmatch: "detect-unmatch" } as const;

/** ECS `threat.framework` for MITRE technique ids. */
export const MITRE_FRAMEWORK = "MITRE ATT&CK";
export const MITRE_TECHNIQUE_URL = "https://attack.mitre.org/techniques/";

/** Tags this mapper adds (besides the intel's labels). */
export const TAGS = {
  ancestryTruncated: "tanium_ecs_ancestry_truncated",
  mitreUnparsed: "tanium_ecs_mitre_unparsed",
  unsafeKey: "tanium_ecs_unsafe_key_removed",
} as const;

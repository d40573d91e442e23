/**
 * @module test/helpers
 * Paths and data for the tests: the repo root, the ECS reference (Elastic's `@elastic/ecs` flat
 * field list) and the samples in `examples/all-shapes.ndjson`, all inside the repository.
 */
import { spawn } from "node:child_process";
import { readFileSync, readdirSync } from "node:fs";
import { join, relative, resolve, sep } from "node:path";
import { fileURLToPath } from "node:url";
import { loadEcsReference, type EcsReference } from "../src/ecs/validate.ts";

/** The repository root, from this file's place in `test/`. */
export const REPO_ROOT = resolve(fileURLToPath(new URL("..", import.meta.url)));

let reference: EcsReference | undefined;

/** The ECS reference, loaded once per test process. */
export function ecsReference(): EcsReference {
  reference ??= loadEcsReference();
  return reference;
}

/**
 * The reference samples, one raw line each: `examples/all-shapes.ndjson` (every shape Tanium
 * Connect sends, events.md §8). Lines may be appended to it, so tests pick lines by
 * {@link sampleShape}, never by line number or count.
 */
export const SAMPLES: readonly string[] = readFileSync(
  join(REPO_ROOT, "examples", "all-shapes.ndjson"),
  "utf8",
)
  .split("\n")
  .filter((line) => line.trim() !== "");

/** The Tanium Connect shapes of events.md §0, each with the `event.dataset` it normalizes to. */
export const SHAPE_DATASETS = {
  recorder: "tanium.recorder",
  alert: "tanium.threat_response",
  detect: "tanium.threat_response",
  /** A B1 row of an intel definition's change (`detect.service.intel.*`): no detection. */
  intel: "tanium.threat_response",
  audit: "tanium.threat_response_audit",
  integrity: "tanium.integrity_monitor",
  action: "tanium.action_history",
  client_status: "tanium.client_status",
  discover: "tanium.discover",
  endpoint_config: "tanium.endpoint_config",
  report: "tanium.report",
} as const;

export type SampleShape = keyof typeof SHAPE_DATASETS;

/**
 * Which shape a raw sample line is, told from its keys alone (not by normalizing it): recorder A
 * has a string `event`; a Threat Response alert B2 an `Alert Id`; a B1 detect event an `Event
 * Name`; an audit row C a `table` and a `state`; an Integrity Monitor row D an `Event Time` and a
 * `Change Type`; the Connect exports (connect-exports.md) by two keys of their own each, a
 * saved-question report by its `Computer Name` column. Throws on a line that is none of them, so a new shape gets its own entry here.
 */
export function sampleShape(line: string): SampleShape {
  const row = JSON.parse(line) as Record<string, unknown>;
  if (typeof row.event === "string") return "recorder";
  if ("Alert Id" in row) return "alert";
  if ("Event Name" in row) {
    return String(row["Event Name"]).startsWith("detect.service.intel.") ? "intel" : "detect";
  }
  if ("table" in row && "state" in row) return "audit";
  if ("Event Time" in row && "Change Type" in row) return "integrity";
  if ("ActionId" in row && "ActionName" in row) return "action";
  if ("ComputerId" in row && "LastRegistration" in row) return "client_status";
  if ("MacAddress" in row && "Ports" in row) return "discover";
  if ("config_item" in row || "manifest" in row) return "endpoint_config";
  if ("Computer Name" in row) return "report";
  throw new Error(`test/helpers.ts sampleShape does not know this sample: ${line.slice(0, 80)}`);
}

/** The samples of the given shapes, in file order. */
export function samplesOf(...shapes: readonly SampleShape[]): string[] {
  return SAMPLES.filter((line) => shapes.includes(sampleShape(line)));
}

/** A path relative to the repo root with `/` separators, so names match on every OS. */
export function repoRelative(file: string): string {
  return relative(REPO_ROOT, file).split(sep).join("/");
}

/**
 * Every `*.json` file under a folder named `fixtures` anywhere below `dir`, sorted so test order
 * is stable. Node 20 has no `fs.glob`, hence the walk.
 */
export function findFixtureFiles(dir: string, inFixtures = false): string[] {
  const found: string[] = [];
  const entries = readdirSync(dir, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : 1));
  for (const entry of entries) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) found.push(...findFixtureFiles(path, inFixtures || entry.name === "fixtures"));
    else if (inFixtures && entry.isFile() && entry.name.endsWith(".json")) found.push(path);
  }
  return found;
}

/** Bytes cut at the given offsets (taken modulo its length, any order, repeats allowed), as reads would. */
export function splitAt(input: Uint8Array, cuts: readonly number[]): Uint8Array[] {
  const points = [...new Set(cuts.map((c) => c % (input.length + 1)))].sort((a, b) => a - b);
  const chunks: Uint8Array[] = [];
  let from = 0;
  for (const p of points) {
    chunks.push(input.subarray(from, p));
    from = p;
  }
  chunks.push(input.subarray(from));
  return chunks;
}

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/**
 * `node ARGS` from the repository root (or `cwd`), stdout and stderr collected (not a terminal);
 * stdin is given `input` (none by default) and closed.
 */
export function runNode(
  args: readonly string[],
  options: { env?: NodeJS.ProcessEnv; input?: string; cwd?: string } = {},
): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, {
      cwd: options.cwd ?? REPO_ROOT,
      env: options.env ?? process.env,
      stdio: ["pipe", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout.setEncoding("utf8").on("data", (s: string) => (stdout += s));
    child.stderr.setEncoding("utf8").on("data", (s: string) => (stderr += s));
    child.on("error", reject);
    child.on("close", (code) => resolve({ code, stdout, stderr }));
    child.stdin.on("error", () => {}).end(options.input ?? "");
  });
}

/** The installed command (`bin/tanium-ecs.js`, over `dist/`), stdout not a terminal. */
export function runCli(args: readonly string[], env: Record<string, string> = {}): Promise<CliResult> {
  return runNode([join(REPO_ROOT, "bin", "tanium-ecs.js"), ...args], {
    env: { ...process.env, TANIUM_ECS_TOKEN: "", ...env },
  });
}

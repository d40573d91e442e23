/**
 * @module test/helpers
 * Paths and shared data for the tests: the repo root and the ECS reference data, which lives
 * outside the repo at `../shared/ecs` (the same relative place in CI).
 */
import { spawn } from "node:child_process";
import { readdirSync } from "node:fs";
import { join, relative, resolve, sep } from "node:path";
import { fileURLToPath } from "node:url";
import { loadEcsReference, type EcsReference } from "../src/ecs/validate.ts";

/** The repository root, from this file's place in `test/`. */
export const REPO_ROOT = resolve(fileURLToPath(new URL("..", import.meta.url)));

/** The ECS 9.4 reference data folder, next to the repository. */
export const ECS_REFERENCE_DIR = join(REPO_ROOT, "..", "shared", "ecs");

let reference: EcsReference | undefined;

/** The ECS reference, loaded once per test process. */
export function ecsReference(): EcsReference {
  reference ??= loadEcsReference(ECS_REFERENCE_DIR);
  return reference;
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
 * `node ARGS` from the repository root, stdout and stderr collected (not a terminal); stdin is
 * given `input` (none by default) and closed.
 */
export function runNode(
  args: readonly string[],
  options: { env?: NodeJS.ProcessEnv; input?: string } = {},
): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, {
      cwd: REPO_ROOT,
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

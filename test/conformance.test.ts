/**
 * The compatibility floor: the seed integration's three samples, run through the installed
 * command by the shared conformance checker, must keep every field and value the seed emits.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { test } from "node:test";
import { REPO_ROOT } from "./helpers.ts";

const SHARED = join(REPO_ROOT, "..", "shared", "conformance");

test("the seed's three samples pass the shared conformance check through the built command", () => {
  const run = spawnSync(
    process.execPath,
    [
      join(SHARED, "check.mjs"),
      "--cmd",
      `"${process.execPath}" bin/tanium-ecs.js normalize`,
      join(SHARED, "seed"),
    ],
    { cwd: REPO_ROOT, encoding: "utf8" },
  );
  assert.equal(run.status, 0, `${run.stdout}\n${run.stderr}`);
  assert.match(run.stdout, /^3 passed, 0 failed$/m);
});

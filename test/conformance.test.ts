/**
 * The compatibility floor: the seed integration's three samples (test/fixtures/conformance-seed,
 * each `{"input": {"message": raw}, "expected": ECS document}`), run through the built command,
 * must keep every field and value the seed emits.
 *
 * The comparison rules: "expected" is a floor, not the whole answer. Every key it has must be in
 * the output with the same value, and a key whose expected value is null must be absent (or
 * null). Arrays hold the same number of elements, in any order, each matching an expected one (an
 * object element matches by the same floor rule); under `related.` the output may hold more. The
 * raw event may stand at `message` or at `event.original`.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { readFileSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { describe, test } from "node:test";
import { REPO_ROOT } from "./helpers.ts";

const CASES_DIR = join(REPO_ROOT, "test", "fixtures", "conformance-seed");

interface Case {
  file: string;
  input: unknown;
  expected: Record<string, unknown>;
}

const cases: Case[] = readdirSync(CASES_DIR)
  .filter((f) => f.endsWith(".json"))
  .sort()
  .map((file) => ({
    file,
    ...(JSON.parse(readFileSync(join(CASES_DIR, file), "utf8")) as Omit<Case, "file">),
  }));

/** Where `actual` falls short of the floor `expected`, one line per difference. */
function differences(expected: unknown, actual: unknown, path = "", out: string[] = []): string[] {
  if (expected === null) {
    if (actual !== undefined && actual !== null)
      out.push(`${path}: expected absent, got ${JSON.stringify(actual)}`);
    return out;
  }
  if (Array.isArray(expected)) {
    if (!Array.isArray(actual)) {
      out.push(`${path}: expected an array, got ${JSON.stringify(actual)}`);
      return out;
    }
    for (const element of expected) {
      if (!actual.some((a) => differences(element, a, path).length === 0)) {
        out.push(`${path}: missing element ${JSON.stringify(element)}`);
      }
    }
    if (!path.startsWith("related.") && actual.length !== expected.length) {
      out.push(`${path}: expected ${expected.length} elements, got ${actual.length}`);
    }
    return out;
  }
  if (typeof expected === "object") {
    if (actual === null || typeof actual !== "object" || Array.isArray(actual)) {
      out.push(`${path}: expected an object, got ${JSON.stringify(actual)}`);
      return out;
    }
    const record = actual as Record<string, unknown>;
    for (const [key, value] of Object.entries(expected)) {
      differences(
        value,
        Object.hasOwn(record, key) ? record[key] : undefined,
        path ? `${path}.${key}` : key,
        out,
      );
    }
    return out;
  }
  if (expected !== actual)
    out.push(`${path}: expected ${JSON.stringify(expected)}, got ${JSON.stringify(actual)}`);
  return out;
}

/** Everything a case's output document misses, the raw-event rule included. */
function caseProblems(c: Case, doc: Record<string, unknown>): string[] {
  const { message, ...rest } = c.expected;
  const problems = differences(rest, doc);
  const original = (doc.event as { original?: unknown } | undefined)?.original;
  if (message !== undefined && doc.message !== message && original !== message) {
    problems.push("the raw event is neither at message nor at event.original");
  }
  return problems;
}

describe("the seed's conformance cases", () => {
  test("there are the seed's three cases", () => {
    assert.deepEqual(
      cases.map((c) => c.file),
      ["tanium_file_open.json", "tanium_network_connect.json", "tanium_process_start.json"],
    );
  });

  test("each passes through the built command, one document per case in order", () => {
    const stdin = cases
      .map((c) => (typeof c.input === "string" ? c.input : JSON.stringify(c.input)))
      .join("\n");
    const run = spawnSync(process.execPath, [join(REPO_ROOT, "bin", "tanium-ecs.js"), "normalize"], {
      cwd: REPO_ROOT,
      input: `${stdin}\n`,
      encoding: "utf8",
      env: { ...process.env, TANIUM_ECS_TOKEN: "" },
    });
    assert.equal(run.status, 0, run.stderr);
    const lines = run.stdout.split("\n").filter((l) => l.trim() !== "");
    assert.equal(lines.length, cases.length, run.stdout);
    const failures = cases.flatMap((c, i) => {
      const problems = caseProblems(c, JSON.parse(lines[i] as string) as Record<string, unknown>);
      return problems.length === 0 ? [] : [`${c.file}:\n  ${problems.join("\n  ")}`];
    });
    assert.deepEqual(failures, []);
  });

  test("the comparison catches a changed value, an extra array element, a present null and a moved raw event", () => {
    const c = cases.find((x) => x.file === "tanium_process_start.json") as Case;
    const doc = structuredClone(c.expected) as Record<string, unknown> & {
      event: { kind: string; category: string[] };
    };
    assert.deepEqual(caseProblems(c, doc), []);
    doc.event.kind = "alert";
    doc.event.category = ["process", "file"];
    const moved = { ...doc, message: "elsewhere", absent: 1 };
    const withNull = { ...c, expected: { ...c.expected, absent: null } };
    assert.deepEqual(caseProblems(withNull, moved), [
      "event.category: expected 1 elements, got 2",
      'event.kind: expected "event", got "alert"',
      "absent: expected absent, got 1",
      "the raw event is neither at message nor at event.original",
    ]);
  });
});

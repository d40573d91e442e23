/**
 * @module test/golden
 * The golden fixture runner. Every `*.json` under a `fixtures` folder anywhere in `src/` is one
 * case, `{"input": {"message": raw} | raw, "expected": <the complete ECS document>}`: the input
 * is normalized with a fixed receive time and must give exactly `expected`, and `expected` must
 * itself be valid ECS 9.4. An expected `event.kind: pipeline_error` means the line must fail, and
 * its dead letter is compared instead.
 *
 * `UPDATE=1 node --import tsx --test test/golden.test.ts` rewrites each `expected` with the
 * actual output, for a human to review in the diff. `FIXTURES=src/ecs/alert` keeps only the
 * fixtures whose path contains that text (to update one family without touching the others).
 */
import assert from "node:assert/strict";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { validateEcs } from "../src/ecs/validate.ts";
import { deadLetter, normalize } from "../src/normalize.ts";
import { REPO_ROOT, ecsReference, findFixtureFiles, repoRelative } from "./helpers.ts";

/** Fixed, so `event.ingested` (and any `@timestamp` fallback) is the same on every run. */
const RECEIVED_AT = "2026-01-01T00:00:00.000Z";
const UPDATE = process.env.UPDATE === "1";

const ONLY = process.env.FIXTURES;
const files = findFixtureFiles(join(REPO_ROOT, "src")).filter(
  (file) => ONLY === undefined || repoRelative(file).includes(ONLY),
);

test("there is at least one golden fixture under src/**/fixtures/", () => {
  assert.ok(
    files.length > 0,
    `no *.json found under any fixtures folder in ${repoRelative(join(REPO_ROOT, "src"))}`,
  );
});

for (const file of files) {
  const name = repoRelative(file);
  test(name, async (t) => {
    const text = readFileSync(file, "utf8");
    const fixture = parseFixture(text);
    const raw = typeof fixture.input === "string" ? fixture.input : JSON.stringify(fixture.input);
    let expected = fixture.expected;

    await t.test("normalize gives the expected document", () => {
      const result = normalize(raw, { receivedAt: RECEIVED_AT });
      const expectsFailure = isRecord(expected.event) && expected.event.kind === "pipeline_error";
      const produced = result.ok
        ? result.doc
        : deadLetter(result.error, { original: raw, input: name, line: 1, receivedAt: RECEIVED_AT });
      // Through JSON, as a sink would write it: properties set to undefined are dropped.
      const actual: unknown = JSON.parse(JSON.stringify(produced));

      if (UPDATE) {
        assert.ok(isRecord(actual));
        expected = actual;
        const updated = `${JSON.stringify({ ...fixture.all, expected: actual }, null, 2)}\n`;
        if (updated !== text) writeFileSync(file, updated);
        return;
      }
      // These two say what went wrong more plainly than a diff of two unrelated documents.
      if (expectsFailure && result.ok) {
        assert.fail("expected normalize to fail (event.kind: pipeline_error), but it returned a document");
      }
      if (!expectsFailure && !result.ok) {
        assert.fail(`normalize failed: ${result.error.code}: ${result.error.message}`);
      }
      assert.deepStrictEqual(actual, expected);
    });

    await t.test("the expected document is valid ECS", () => {
      const problems = validateEcs(expected, ecsReference());
      assert.deepEqual(
        problems.map((p) => `${p.code} at ${p.path}: ${p.message}`),
        [],
        `expected is not valid ECS:\n${problems.map((p) => `  ${p.code} at ${p.path}: ${p.message}`).join("\n")}`,
      );
    });
  });
}

interface Fixture {
  /** The whole file, so an update keeps any other keys (a description, say). */
  all: Record<string, unknown>;
  input: string | Record<string, unknown>;
  expected: Record<string, unknown>;
}

function parseFixture(text: string): Fixture {
  const all: unknown = JSON.parse(text);
  assert.ok(isRecord(all), "the fixture must be a JSON object");
  const { input, expected } = all;
  assert.ok(
    typeof input === "string" || isRecord(input),
    "`input` must be the raw line (a string) or an envelope object",
  );
  // Under UPDATE a new fixture may start without `expected`.
  if (UPDATE && expected === undefined) return { all, input, expected: {} };
  assert.ok(isRecord(expected), "`expected` must be the ECS document (an object)");
  return { all, input, expected };
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

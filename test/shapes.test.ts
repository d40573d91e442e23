/**
 * @module test/shapes
 * Every shape Tanium Connect sends (events.md §0: recorder A, Threat Response alerts B1/B2,
 * audit rows C, Integrity Monitor rows D), from one stream: the reference samples all normalize,
 * each into valid ECS, each recognized as its own shape; and a mixed file of all of them, in any
 * order and with or without a syslog header, comes out of the real command line for line.
 */
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { validateEcs } from "../src/ecs/validate.ts";
import { normalize } from "../src/normalize.ts";
import { SAMPLES, SHAPE_DATASETS, ecsReference, runCli, sampleShape } from "./helpers.ts";

const RECEIVED_AT = "2026-01-01T00:00:00.000Z";
/** The dataset a reference sample must be read as, from its shape. */
function expectedDataset(line: string): string {
  return SHAPE_DATASETS[sampleShape(line)];
}

interface Doc {
  event: { kind: string; dataset?: string; id?: string; category?: string[] };
  error?: { code: string };
}

describe("the reference samples (all shapes, one stream)", () => {
  it("has every shape of events.md §0", () => {
    assert.deepEqual([...new Set(SAMPLES.map(sampleShape))].sort(), Object.keys(SHAPE_DATASETS).sort());
  });

  SAMPLES.forEach((line, index) => {
    it(`sample ${index + 1} normalizes to valid ECS as ${expectedDataset(line)}`, () => {
      const result = normalize(line, { receivedAt: RECEIVED_AT });
      assert.ok(result.ok, result.ok ? "" : `${result.error.code}: ${result.error.message}`);
      const doc = result.doc as unknown as Doc;
      assert.equal(doc.event.dataset, expectedDataset(line));
      assert.notEqual(doc.event.kind, "pipeline_error");
      assert.ok(doc.event.id !== undefined && doc.event.id !== "", "every document has an event.id");
      const problems = validateEcs(result.doc, ecsReference());
      assert.deepEqual(
        problems.map((p) => `${p.code} at ${p.path}: ${p.message}`),
        [],
      );
    });
  });

  it("gives every sample its own event.id (a store keeps each once)", () => {
    const ids = SAMPLES.map((line) => {
      const result = normalize(line, { receivedAt: RECEIVED_AT });
      return result.ok ? result.doc.event.id : undefined;
    });
    assert.equal(new Set(ids).size, SAMPLES.length);
  });

  it("marks the alerts as alerts and nothing else", () => {
    const kinds = SAMPLES.map((line) => {
      const result = normalize(line, { receivedAt: RECEIVED_AT });
      return result.ok ? result.doc.event.kind : "failed";
    });
    // B2 alert rows and B1 detect events are alerts; recorder, audit and integrity rows are not.
    assert.deepEqual(
      kinds.map((kind) => kind === "alert"),
      SAMPLES.map((line) => ["alert", "detect"].includes(sampleShape(line))),
    );
  });
});

describe("a mixed file through tanium-ecs normalize", () => {
  const dir = mkdtempSync(join(tmpdir(), "tanium-ecs-shapes-"));
  after(() => rmSync(dir, { recursive: true, force: true }));

  // Every shape several times, interleaved, some behind an RFC 5424 syslog header, plus one line
  // that is no Tanium shape at all (it must come out as a dead letter, not vanish).
  const header = "<14>1 2024-03-11T09:15:42.500Z tanium-srv-01 Tanium - - - ";
  const mixed: string[] = [];
  for (let round = 0; round < 3; round++) {
    for (let i = 0; i < SAMPLES.length; i++) {
      const line = SAMPLES[(i * 7 + round * 5) % SAMPLES.length] as string;
      mixed.push(i % 4 === round ? header + line : line);
    }
  }
  mixed.splice(50, 0, '{"unrelated":"object"}');

  for (const workers of [[], ["--workers", "2"]]) {
    it(`keeps every line, in order ${workers.length > 0 ? "with --workers 2" : "in-thread"}`, async () => {
      const input = join(dir, "mixed.ndjson");
      writeFileSync(input, `${mixed.join("\n")}\n`);
      const deadPath = join(dir, `dead-${workers.length}.ndjson`);
      const result = await runCli([
        "normalize",
        input,
        "--no-progress",
        "--dead-letter",
        deadPath,
        ...workers,
      ]);
      // Status 3: some lines were dead letters (the unrelated object), the rest went through.
      assert.equal(result.code, 3, result.stderr);
      const docs = result.stdout
        .split("\n")
        .filter((l) => l !== "")
        .map((l) => JSON.parse(l) as Doc);
      assert.equal(docs.length, mixed.length - 1);
      const datasets = new Set(docs.map((d) => d.event.dataset));
      assert.deepEqual([...datasets].sort(), [
        "tanium.integrity_monitor",
        "tanium.recorder",
        "tanium.threat_response",
        "tanium.threat_response_audit",
      ]);
      // Order kept: the documents' datasets follow the input lines' shapes.
      const expected = mixed
        .filter((l) => l !== '{"unrelated":"object"}')
        .map((l) => expectedDataset(l.startsWith("<14>") ? l.slice(header.length) : l));
      assert.deepEqual(
        docs.map((d) => d.event.dataset),
        expected,
      );
      const dead = readFileSync(deadPath, "utf8")
        .split("\n")
        .filter((l) => l !== "")
        .map((l) => JSON.parse(l) as Doc);
      assert.equal(dead.length, 1);
      assert.equal(dead[0]?.error?.code, "ERR_NO_EVENT");
    });
  }
});

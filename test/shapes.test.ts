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
import { readTanium } from "../src/tanium/shapes.ts";
import {
  REPO_ROOT,
  SAMPLES,
  SHAPE_DATASETS,
  ecsReference,
  findFixtureFiles,
  repoRelative,
  runCli,
  sampleShape,
} from "./helpers.ts";

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
  // A stride prime to the count visits every sample once per round, out of file order.
  const gcd = (a: number, b: number): number => (b === 0 ? a : gcd(b, a % b));
  const STEP = [7, 11, 13, 17].find((step) => gcd(step, SAMPLES.length) === 1) ?? 1;
  const mixed: string[] = [];
  for (let round = 0; round < 3; round++) {
    for (let i = 0; i < SAMPLES.length; i++) {
      const line = SAMPLES[(i * STEP + round * 5) % SAMPLES.length] as string;
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
      // Order kept: the documents' datasets follow the input lines' shapes, every shape present.
      const expected = mixed
        .filter((l) => l !== '{"unrelated":"object"}')
        .map((l) => expectedDataset(l.startsWith("<14>") ? l.slice(header.length) : l));
      assert.deepEqual([...new Set(expected)].sort(), [...new Set(Object.values(SHAPE_DATASETS))].sort());
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

/** examples/all-shapes.ndjson (`SAMPLES`): the 36 reference samples, then connect-exports.md's six. */
const ALL_SHAPES = SAMPLES;

describe("examples/all-shapes.ndjson (every shape, the other Connect exports included)", () => {
  it("holds a line of every shape", () => {
    assert.deepEqual([...new Set(ALL_SHAPES.map(sampleShape))].sort(), Object.keys(SHAPE_DATASETS).sort());
  });

  ALL_SHAPES.forEach((line, index) => {
    it(`line ${index + 1} normalizes to valid ECS as ${expectedDataset(line)}`, () => {
      const result = normalize(line, { receivedAt: RECEIVED_AT });
      assert.ok(result.ok, result.ok ? "" : `${result.error.code}: ${result.error.message}`);
      assert.equal(result.doc.event.dataset, expectedDataset(line));
      assert.ok(result.doc.event.id !== undefined && result.doc.event.id !== "");
      assert.ok(result.doc.message !== undefined && result.doc.message !== "", "a message");
      assert.deepEqual(
        validateEcs(result.doc, ecsReference()).map((p) => `${p.code} at ${p.path}: ${p.message}`),
        [],
      );
    });
  });

  it("gives every line its own event.id, and the same line the same id again", () => {
    const ids = (): (string | undefined)[] =>
      ALL_SHAPES.map((line) => {
        const result = normalize(line, { receivedAt: RECEIVED_AT });
        return result.ok ? result.doc.event.id : undefined;
      });
    const first = ids();
    assert.equal(new Set(first).size, ALL_SHAPES.length);
    assert.deepEqual(ids(), first);
  });

  it("goes through tanium-ecs normalize with no dead letter, each line in its dataset, in order", async () => {
    const dir = mkdtempSync(join(tmpdir(), "tanium-ecs-all-shapes-"));
    try {
      const deadPath = join(dir, "dead.ndjson");
      const input = join(REPO_ROOT, "examples", "all-shapes.ndjson");
      const result = await runCli(["normalize", input, "--no-progress", "--dead-letter", deadPath]);
      assert.equal(result.code, 0, result.stderr);
      const docs = result.stdout
        .split("\n")
        .filter((l) => l !== "")
        .map((l) => JSON.parse(l) as Doc);
      assert.deepEqual(
        docs.map((d) => d.event.dataset),
        ALL_SHAPES.map(expectedDataset),
      );
      assert.equal(readFileSync(deadPath, "utf8"), "");
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("counts and keeps the keys no reader knows", () => {
    const unmapped = (line: string): readonly string[] => {
      const result = normalize(line, { receivedAt: RECEIVED_AT });
      assert.ok(result.ok);
      return result.unmapped;
    };
    // The report sample's two columns that are no well-known sensor, kept under tanium.report.
    assert.deepEqual(unmapped(ALL_SHAPES[40] as string), ["Virtual Platform", "Is Virtual"]);
    const action = JSON.parse(ALL_SHAPES[36] as string) as Record<string, unknown>;
    action.TargetGroup = "All Windows Servers";
    assert.deepEqual(unmapped(JSON.stringify(action)), ["TargetGroup"]);
    const config = JSON.parse(ALL_SHAPES[39] as string) as { manifest: Record<string, unknown> };
    config.manifest.signature = "abc";
    const result = normalize(JSON.stringify(config), { receivedAt: RECEIVED_AT });
    assert.ok(result.ok);
    assert.deepEqual(result.unmapped, ["manifest.signature"]);
    assert.deepEqual({ ...result.doc.tanium?.fields }, { "manifest.signature": "abc" });
  });
});

describe("the five other exports take no row of another shape", () => {
  /** Each fixture folder's dataset: a fixture that gives a document must give this one. */
  const FOLDERS: Readonly<Record<string, string>> = {
    recorder: "tanium.recorder",
    alert: "tanium.threat_response",
    audit: "tanium.threat_response_audit",
    integrity: "tanium.integrity_monitor",
    action: "tanium.action_history",
    "client-status": "tanium.client_status",
    discover: "tanium.discover",
    "endpoint-config": "tanium.endpoint_config",
    report: "tanium.report",
  };
  const fixtures = findFixtureFiles(join(REPO_ROOT, "src", "ecs"));

  it("every golden fixture gives its own folder's dataset (or its expected dead letter)", () => {
    assert.ok(fixtures.length > 100);
    const wrong: string[] = [];
    for (const file of fixtures) {
      const folder = repoRelative(file).split("/")[2] as string;
      const { input, expected } = JSON.parse(readFileSync(file, "utf8")) as {
        input: unknown;
        expected: Doc;
      };
      const raw = typeof input === "string" ? input : JSON.stringify(input);
      const result = normalize(raw, { receivedAt: RECEIVED_AT });
      const got = result.ok ? result.doc.event.dataset : result.error.code;
      const want = expected.event.kind === "pipeline_error" ? expected.error?.code : FOLDERS[folder];
      if (got !== want) wrong.push(`${repoRelative(file)}: ${got} instead of ${want}`);
    }
    assert.deepEqual(wrong, []);
  });

  it("every line of examples/recorder.ndjson stays a recorder event", () => {
    const lines = readFileSync(join(REPO_ROOT, "examples", "recorder.ndjson"), "utf8")
      .split("\n")
      .filter((l) => l.trim() !== "");
    assert.ok(lines.length > 0);
    for (const line of lines) {
      const result = normalize(line, { receivedAt: RECEIVED_AT });
      assert.equal(result.ok ? result.doc.event.dataset : result.error.code, "tanium.recorder", line);
    }
  });

  it("an Endpoint Configuration row with a `table` is an audit row, without one it is not", () => {
    const row = JSON.parse(ALL_SHAPES[39] as string) as Record<string, unknown>;
    assert.equal(readTanium(row, JSON.stringify(row))?.shape, "endpoint_config");
    const audit = { ...row, table: "LiveConnection", createdAt: "2025-03-05T09:12:44Z" };
    assert.equal(readTanium(audit, JSON.stringify(audit))?.shape, "audit");
  });

  it("a saved question's `IP Address`/`MAC Address`/`Computer ID` columns make no Discover or client-status row", () => {
    const row = {
      "Computer ID": "2284716651",
      "Computer Name": "fin-lt-0193",
      "IP Address": "10.44.7.19",
      "MAC Address": "00-1B-A9-4C-22-10",
      Count: 1,
    };
    assert.equal(readTanium(row, JSON.stringify(row))?.shape, "report");
  });

  it("objects in another style are still no shape (ERR_NO_EVENT), not reports", () => {
    for (const line of [
      '{"no":"event"}',
      '{"unrelated":"object"}',
      "{}",
      '{"Status":"Normal","Count":1}',
      '{"Computer_Name":"a","Count":1}',
      '{"Computer Name":{"nested":true}}',
      '{"computer name":"lower case"}',
      '{"hostname":"web-07","host":"198.51.100.17","data":{"pid":1}}',
    ]) {
      const result = normalize(line, { receivedAt: RECEIVED_AT });
      assert.equal(result.ok ? result.doc.event.dataset : result.error.code, "ERR_NO_EVENT", line);
    }
  });
});

describe("the other exports under hostile or outsized input", () => {
  const discover = (ports: string): Record<string, unknown> => {
    const result = normalize(
      JSON.stringify({
        id: 1,
        IpAddress: "10.0.0.1",
        MacOrganization: "Dell Inc.",
        LastDiscoveredAt: "2025-03-05 06:00:00 +00:00",
        Ports: ports,
      }),
      { receivedAt: RECEIVED_AT },
    );
    assert.ok(result.ok);
    return result.doc.tanium?.discover as Record<string, unknown>;
  };

  it("reads a few hundred open ports as numbers, and keeps a longer list whole as text", () => {
    const some = Array.from({ length: 200 }, (_, i) => 1000 + i);
    assert.deepEqual(discover(some.join(",")).ports, some);
    assert.equal(discover(some.join(",")).ports_text, undefined);
    const many = Array.from({ length: 1500 }, (_, i) => i + 1).join(",");
    const doc = discover(many);
    assert.equal((doc.ports as number[]).length, 1024);
    assert.equal(doc.ports_text, many);
  });

  it("keeps an outsized manifest's items whole, besides the ones it reads", () => {
    const row = JSON.parse(ALL_SHAPES[39] as string) as { manifest: { items: unknown[] } };
    const items = Array.from({ length: 300 }, (_, i) => ({ domain: "endpoint-config", ids: [i] }));
    row.manifest.items = items;
    const result = normalize(JSON.stringify(row), { receivedAt: RECEIVED_AT });
    assert.ok(result.ok);
    const config = result.doc.tanium?.endpoint_config as { manifest: { items: unknown[] } };
    assert.equal(config.manifest.items.length, 256);
    assert.deepEqual(result.doc.tanium?.fields?.["manifest.items"], items);
    assert.deepEqual(result.unmapped, ["manifest.items"]);
  });

  it("takes no row with more columns than are read for a report, and no `__proto__` column reaches a prototype", () => {
    const wide: Record<string, number> = {};
    for (let i = 0; i < 300; i++) wide[`Column ${i}`] = i;
    const result = normalize(JSON.stringify(wide), { receivedAt: RECEIVED_AT });
    assert.equal(result.ok ? result.doc.event.dataset : result.error.code, "ERR_NO_EVENT");
    const proto = normalize('{"Computer Name":"a","__proto__":{"polluted":1},"Count":1}', {
      receivedAt: RECEIVED_AT,
    });
    assert.ok(proto.ok);
    assert.equal(proto.doc.event.dataset, "tanium.report");
    assert.equal(({} as Record<string, unknown>).polluted, undefined);
    assert.deepEqual(Object.keys(proto.doc.tanium?.report as object), ["Computer Name", "Count"]);
  });
});

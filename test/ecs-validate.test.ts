/**
 * @module test/ecs-validate
 * Unit tests of the ECS validator against the real ECS 9.4 reference data: one valid document,
 * then each rule caught with its code and path.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { loadEcsReference, validateEcs, type EcsProblem } from "../src/ecs/validate.ts";
import { ecsReference } from "./helpers.ts";

const ref = ecsReference();

/** A process start as tanium-ecs writes it. */
function processStart(): Record<string, unknown> {
  return {
    "@timestamp": "2021-07-15T13:47:13.084Z",
    message: "ipset save",
    tags: ["tanium"],
    ecs: { version: "9.4.0" },
    event: {
      kind: "event",
      category: ["process"],
      type: ["start"],
      action: "process_start",
      module: "tanium",
      dataset: "tanium.recorder",
      ingested: "2026-01-01T00:00:00.000Z",
      original: '{"event":"process_start"}',
    },
    host: { hostname: "h1", name: "h1", ip: ["172.16.2.1", "fe80::1"] },
    process: {
      pid: 14664,
      command_line: "ipset save",
      executable: "/usr/sbin/ipset",
      start: "2021-07-15T13:47:13.084000+00:00",
      hash: { md5: "8ed54b7dcf043252441bca716b8c461f" },
      parent: { pid: 1550, name: "perl", executable: "/usr/bin/perl" },
      user: { name: "root" },
    },
    related: { ip: ["172.16.2.1"], hosts: ["h1"], hash: ["8ed54b7dcf043252441bca716b8c461f"] },
    tanium: { fields: { tanium_process_id: "-6166594163916654264" } },
  };
}

/** `processStart()` with `patch` merged in at the top level and one level down. */
function withPatch(patch: Record<string, unknown>): Record<string, unknown> {
  const doc = processStart();
  for (const [key, value] of Object.entries(patch)) {
    const base = doc[key];
    doc[key] = isRecord(base) && isRecord(value) && !Array.isArray(value) ? { ...base, ...value } : value;
  }
  return doc;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null;
}

/** Only code and path, so tests do not pin the wording of messages. */
function codes(problems: readonly EcsProblem[]): { code: string; path: string }[] {
  return problems.map(({ code, path }) => ({ code, path }));
}

function check(doc: unknown): { code: string; path: string }[] {
  return codes(validateEcs(doc, ref));
}

describe("loadEcsReference", () => {
  test("reads the fields and the allowed values", () => {
    assert.equal(ref.version, "9.4.0");
    assert.deepEqual(ref.fields.get("process.parent.pid"), { type: "long", array: false });
    assert.deepEqual(ref.fields.get("dns.answers"), { type: "object", array: true });
    assert.ok(ref.parents.has("process.parent"));
    assert.ok(ref.kinds.has("pipeline_error"));
    assert.ok(ref.categories.get("file")?.has("creation"));
    assert.ok(ref.outcomes.has("unknown"));
  });

  test("throws on a flat field list without the categorization allowed values", () => {
    assert.throws(
      () => loadEcsReference({ "event.kind": { type: "keyword" } }),
      /`event.category` has no `allowed_values`/,
    );
    assert.throws(() => loadEcsReference({ pid: {} }), /`pid` has no string `type`/);
  });
});

describe("validateEcs", () => {
  test("a valid document has no problems", () => {
    assert.deepEqual(validateEcs(processStart(), ref), []);
  });

  test("every problem has a message", () => {
    const problems = validateEcs(withPatch({ process: { pid: "1" }, foo: 1 }), ref);
    assert.equal(problems.length, 2);
    for (const p of problems) assert.match(p.message, /\S/);
  });

  test("reports all problems at once, in document order", () => {
    const doc = withPatch({
      bogus: 1,
      event: { kind: "nope" },
      process: { pid: "12", name: ["a"] },
    });
    assert.deepEqual(check(doc), [
      { code: "ecs_allowed_value", path: "event.kind" },
      { code: "ecs_type", path: "process.pid" },
      { code: "ecs_array", path: "process.name" },
      { code: "ecs_unknown_field", path: "bogus" },
    ]);
  });

  test("the document itself must be a non-empty object", () => {
    assert.deepEqual(check([]), [{ code: "ecs_type", path: "" }]);
    assert.deepEqual(check("x"), [{ code: "ecs_type", path: "" }]);
    assert.deepEqual(check({}), [{ code: "ecs_empty", path: "" }]);
  });

  describe("ecs_unknown_field", () => {
    test("a leaf that is not an ECS field", () => {
      assert.deepEqual(check(withPatch({ process: { colour: "red" } })), [
        { code: "ecs_unknown_field", path: "process.colour" },
      ]);
    });

    test("an unknown subtree is reported once, at its top", () => {
      assert.deepEqual(check(withPatch({ vendor: { a: { b: 1 }, c: 2 } })), [
        { code: "ecs_unknown_field", path: "vendor" },
      ]);
    });

    test("dotted keys are read as paths", () => {
      assert.deepEqual(check({ "process.pid": 1, "process.nope": 2 }), [
        { code: "ecs_unknown_field", path: "process.nope" },
      ]);
    });

    test("an object-only path holding a scalar is a type problem", () => {
      assert.deepEqual(check(withPatch({ process: "ipset" })), [{ code: "ecs_type", path: "process" }]);
    });
  });

  describe("custom prefixes", () => {
    test("tanium.* may hold anything, even empty values and nested arrays", () => {
      const doc = withPatch({
        tanium: { fields: { a: null, b: [], c: {}, d: [[1, { e: null }]] }, "x.y": "" },
      });
      assert.deepEqual(check(doc), []);
    });

    test("a dotted tanium key is custom too", () => {
      assert.deepEqual(check(withPatch({ "tanium.anything": [null] })), []);
    });

    test("a name that only starts like the prefix is not custom", () => {
      assert.deepEqual(check(withPatch({ taniumx: 1 })), [{ code: "ecs_unknown_field", path: "taniumx" }]);
    });

    test("customPrefixes replaces the default", () => {
      const doc = withPatch({ acme: { x: 1 } });
      const problems = codes(validateEcs(doc, ref, { customPrefixes: ["acme"] }));
      assert.deepEqual(problems, [{ code: "ecs_unknown_field", path: "tanium" }]);
    });
  });

  describe("ecs_type", () => {
    const cases: [string, Record<string, unknown>, string][] = [
      ["long as a string", { process: { pid: "14664" } }, "process.pid"],
      ["long with a fraction", { process: { pid: 1.5 } }, "process.pid"],
      ["long past the safe range", { process: { pid: 2 ** 53 } }, "process.pid"],
      ["integer past 32 bits", { gen_ai: { usage: { input_tokens: 2 ** 31 } } }, "gen_ai.usage.input_tokens"],
      ["keyword as a number", { process: { name: 42 } }, "process.name"],
      ["wildcard as a boolean", { process: { command_line: true } }, "process.command_line"],
      ["boolean as a string", { process: { interactive: "true" } }, "process.interactive"],
      ["float as a string", { event: { risk_score: "1.5" } }, "event.risk_score"],
      ["ip that is not an address", { source: { ip: "999.1.1.1" } }, "source.ip"],
      ["ip as a number", { source: { ip: 167772161 } }, "source.ip"],
      ["date without a zone", { "@timestamp": "2021-07-15T13:47:13" }, "@timestamp"],
      ["date with a space", { "@timestamp": "2021-07-15 13:47:13Z" }, "@timestamp"],
      ["date that does not exist", { "@timestamp": "2021-02-29T00:00:00Z" }, "@timestamp"],
      ["date out of range", { "@timestamp": "2021-07-15T24:00:00Z" }, "@timestamp"],
      ["date as a word", { process: { start: "yesterday" } }, "process.start"],
      ["date as a fractional number", { "@timestamp": 1.5 }, "@timestamp"],
      [
        "geo_point out of range",
        { source: { geo: { location: { lat: 91, lon: 0 } } } },
        "source.geo.location",
      ],
      ["geo_point as a string", { source: { geo: { location: "1,2" } } }, "source.geo.location"],
      ["object field as a string", { labels: "x" }, "labels"],
      ["namespace as an array element", { process: { parent: ["x"] } }, "process.parent[0]"],
      ["labels holding an object", { labels: { team: { a: 1 } } }, "labels.team"],
    ];
    for (const [name, patch, path] of cases) {
      test(name, () => {
        const problems = check(withPatch(patch));
        const wanted = path.endsWith("[0]") ? [{ code: "ecs_array", path: path.slice(0, -3) }] : [];
        assert.deepEqual(problems, [...wanted, { code: "ecs_type", path }]);
      });
    }

    test("array elements are checked one by one", () => {
      assert.deepEqual(check(withPatch({ host: { ip: ["10.0.0.1", "not-an-ip", 7] } })), [
        { code: "ecs_type", path: "host.ip[1]" },
        { code: "ecs_type", path: "host.ip[2]" },
      ]);
    });

    test("values of the right types pass", () => {
      const doc = withPatch({
        "@timestamp": 1626356833084,
        event: { risk_score: 2, duration: 0, outcome: "success" },
        process: {
          interactive: false,
          start: "2021-07-15T13:47Z",
          end: "2021-07-15T15:47:13.123456789-0530",
        },
        source: { ip: "::ffff:10.0.0.1", port: 443, geo: { location: { lat: -33.9, lon: 18.4 } } },
        host: { cpu: { usage: 0.25 } },
        gen_ai: { usage: { input_tokens: 2 ** 31 - 1 } },
        labels: { env: "prod", shard: 3, canary: true, note: "" },
        log: { syslog: { facility: { code: 4 }, structured_data: { any: { deep: [1, null] } } } },
        data_stream: { dataset: "tanium.recorder" },
      });
      assert.deepEqual(check(doc), []);
    });
  });

  describe("ecs_array", () => {
    test("an array where ECS has a single value", () => {
      assert.deepEqual(check(withPatch({ process: { pid: [1, 2] } })), [
        { code: "ecs_array", path: "process.pid" },
      ]);
    });

    test("an array of objects at an object-only path", () => {
      assert.deepEqual(check(withPatch({ user: [{ name: "root" }] })), [{ code: "ecs_array", path: "user" }]);
    });

    test("an array inside an array", () => {
      assert.deepEqual(check(withPatch({ tags: ["a", ["b"]] })), [{ code: "ecs_array", path: "tags[1]" }]);
    });

    test("array fields may also hold a single value", () => {
      const doc = withPatch({
        tags: "tanium",
        host: { ip: "10.0.0.1" },
        event: { category: "process", type: "start" },
        related: { hosts: "h1" },
      });
      assert.deepEqual(check(doc), []);
    });
  });

  describe("ecs_empty", () => {
    test("null, empty arrays and empty objects", () => {
      const doc = withPatch({ message: null, tags: [], process: { hash: {} }, labels: { a: null } });
      assert.deepEqual(check(doc), [
        { code: "ecs_empty", path: "message" },
        { code: "ecs_empty", path: "tags" },
        { code: "ecs_empty", path: "process.hash" },
        { code: "ecs_empty", path: "labels.a" },
      ]);
    });

    test("a null array element", () => {
      assert.deepEqual(check(withPatch({ related: { ip: ["10.0.0.1", null] } })), [
        { code: "ecs_empty", path: "related.ip[1]" },
      ]);
    });

    test("empty strings are allowed", () => {
      assert.deepEqual(check(withPatch({ message: "", process: { args: [""] } })), []);
    });
  });

  describe("dns.answers: an array of objects", () => {
    test("each element is walked as dns.answers.*", () => {
      const dns = {
        answers: [
          { data: "10.0.0.1", type: "A", ttl: 60 },
          { data: "h.example", name: "x" },
        ],
      };
      assert.deepEqual(check(withPatch({ dns })), []);
    });

    test("problems inside an element point at that element", () => {
      const dns = { answers: [{ data: "a" }, { data: 1, ttl: "60", colour: "red" }, "10.0.0.1", {}] };
      assert.deepEqual(check(withPatch({ dns })), [
        { code: "ecs_type", path: "dns.answers[1].data" },
        { code: "ecs_type", path: "dns.answers[1].ttl" },
        { code: "ecs_unknown_field", path: "dns.answers[1].colour" },
        { code: "ecs_type", path: "dns.answers[2]" },
        { code: "ecs_empty", path: "dns.answers[3]" },
      ]);
    });

    test("a single answer object is allowed", () => {
      assert.deepEqual(check(withPatch({ dns: { answers: { data: "a" } } })), []);
    });
  });

  describe("ecs_allowed_value", () => {
    test("event.kind", () => {
      assert.deepEqual(check(withPatch({ event: { kind: "log" } })), [
        { code: "ecs_allowed_value", path: "event.kind" },
      ]);
    });

    test("each event.category and event.type element, and event.outcome", () => {
      const doc = withPatch({
        event: { category: ["process", "endpoint"], type: ["start", "launch"], outcome: "ok" },
      });
      assert.deepEqual(check(doc), [
        { code: "ecs_allowed_value", path: "event.category[1]" },
        { code: "ecs_allowed_value", path: "event.type[1]" },
        { code: "ecs_allowed_value", path: "event.outcome" },
      ]);
    });

    test("the message lists the allowed values", () => {
      const [problem] = validateEcs(withPatch({ event: { kind: "log" } }), ref);
      assert.match(problem?.message ?? "", /alert, asset, enrichment, event/);
    });
  });

  describe("ecs_category_type", () => {
    test("file + start: neither suits the other", () => {
      assert.deepEqual(check(withPatch({ event: { category: ["file"], type: ["start"] } })), [
        { code: "ecs_category_type", path: "event.type[0]" },
        { code: "ecs_category_type", path: "event.category[0]" },
      ]);
    });

    test("every category must accept some type", () => {
      const doc = withPatch({ event: { category: ["process", "file"], type: ["start"] } });
      assert.deepEqual(check(doc), [{ code: "ecs_category_type", path: "event.category[1]" }]);
    });

    test("every type must suit some category", () => {
      const doc = withPatch({ event: { category: ["network"], type: ["connection", "creation"] } });
      assert.deepEqual(check(doc), [{ code: "ecs_category_type", path: "event.type[1]" }]);
    });

    test("several categories and types that pair up", () => {
      const doc = withPatch({
        event: { category: ["network", "process"], type: ["connection", "start"] },
      });
      assert.deepEqual(check(doc), []);
    });

    test("a scalar category and type are paired too", () => {
      assert.deepEqual(check(withPatch({ event: { category: "file", type: "start" } })), [
        { code: "ecs_category_type", path: "event.type" },
        { code: "ecs_category_type", path: "event.category" },
      ]);
    });

    test("a type without a category, or a category without a type, is allowed", () => {
      const noCategory = processStart();
      const noType = processStart();
      assert.ok(isRecord(noCategory.event) && isRecord(noType.event));
      delete noCategory.event.category;
      delete noType.event.type;
      assert.deepEqual(check(noCategory), []);
      assert.deepEqual(check(noType), []);
    });

    test("unknown values are reported once, not paired", () => {
      const doc = withPatch({ event: { category: ["bogus"], type: ["start"] } });
      assert.deepEqual(check(doc), [{ code: "ecs_allowed_value", path: "event.category[0]" }]);
    });
  });
});

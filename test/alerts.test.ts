/**
 * @module test/alerts
 * Threat Response alerts (B1 and B2): the samples normalize to valid ECS alerts, and hostile
 * variations (mutated alerts, random payload bytes, odd key spellings) never throw and always give
 * an alert document or a typed dead letter.
 */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import fc from "fast-check";
import { parseJsonSafely } from "../src/decoding/json.ts";
import { validateEcs } from "../src/ecs/validate.ts";
import { normalize } from "../src/normalize.ts";
import { readMatchDetails, MAX_ANCESTRY_DEPTH } from "../src/tanium/alert/match-details.ts";
import { decodePayload, splitOtherParameters } from "../src/tanium/alert/other-parameters.ts";
import { ecsReference, REPO_ROOT } from "./helpers.ts";

const receivedAt = "2026-01-01T00:00:00.000Z";
const samples = readFileSync(join(REPO_ROOT, "..", "shared", "tanium", "samples.ndjson"), "utf8").split("\n");
/** Lines 31–34 of the shared samples: two B2 rows, a B1 detect.match, a B1 detect.unmatch. */
const ALERT_SAMPLES = [31, 32, 33, 34].map((n) => samples[n - 1] as string);

const ALERT_CODES = new Set([
  "ERR_FIELD_TYPE",
  "ERR_PAYLOAD",
  "ERR_JSON_SYNTAX",
  "ERR_NOT_AN_OBJECT",
  "ERR_NO_EVENT",
]);

function b64(text: string): string {
  return Buffer.from(text, "utf8").toString("base64");
}

/** Either an alert document (JSON-serializable) or a dead letter with a known code; never a throw. */
function checkOutcome(line: string): void {
  const result = normalize(line, { receivedAt });
  if (result.ok) {
    assert.equal(result.doc.event.kind, "alert");
    JSON.parse(JSON.stringify(result.doc));
  } else {
    assert.ok(ALERT_CODES.has(result.error.code), `${result.error.code}: ${result.error.message}`);
  }
}

test("samples 31–34 normalize to alerts with no dead letter, and every document is valid ECS", () => {
  for (const line of ALERT_SAMPLES) {
    const result = normalize(line, { receivedAt });
    assert.ok(result.ok, result.ok ? "" : `${result.error.code}: ${result.error.message}`);
    assert.equal(result.doc.event.kind, "alert");
    assert.equal(result.doc.event.dataset, "tanium.threat_response");
    assert.deepEqual(validateEcs(JSON.parse(JSON.stringify(result.doc)), ecsReference()), []);
  }
});

test("the B1 payload and the same details sent as a B2 object give the same artifact fields", () => {
  const b1 = normalize(ALERT_SAMPLES[2] as string, { receivedAt });
  assert.ok(b1.ok);
  const payload = (ALERT_SAMPLES[2] as string).split("|payload=")[1]?.split('"')[0] as string;
  const details: unknown = JSON.parse(Buffer.from(payload, "base64").toString("utf8"));
  const b2 = normalize(
    JSON.stringify({ "Alert Id": "a-1", Timestamp: "2024-03-11T09:22:40.000Z", "Match Details": details }),
    { receivedAt },
  );
  assert.ok(b2.ok);
  assert.deepEqual(b2.doc.process, b1.doc.process);
  assert.deepEqual(b2.doc.file, b1.doc.file);
  assert.deepEqual(b2.doc.related?.hash, b1.doc.related?.hash);
  // The whole details are kept as the same object for both generations.
  const kept = (doc: typeof b1.doc): unknown =>
    JSON.parse(JSON.stringify((doc.tanium?.threat_response as Record<string, unknown>).match_details));
  assert.deepEqual(kept(b1.doc), details);
  assert.deepEqual(kept(b2.doc), details);
});

test("kept details never reach a prototype, and hostile nesting is cut at 20 levels without a crash", () => {
  let deep = '"bottom"';
  for (let i = 0; i < 50_000; i++) deep = `{"d":${deep}}`;
  const text = `{"match":{"type":"file","properties":{"fullpath":"/tmp/x"}},"__proto__":{"polluted":1},"x":{"constructor":{"prototype":{"polluted":2}}},"deep":${deep}}`;
  const line = JSON.stringify({ "Alert Id": "a-2", "Match Details": text });
  const result = normalize(line, { receivedAt });
  assert.ok(result.ok, result.ok ? "" : result.error.message);
  const tr = result.doc.tanium?.threat_response as Record<string, unknown>;
  const kept = tr.match_details as Record<string, unknown>;
  assert.equal(Object.hasOwn(kept, "__proto__"), false);
  assert.equal(({} as Record<string, unknown>).polluted, undefined);
  assert.deepEqual(JSON.parse(JSON.stringify(kept.x)), {});
  assert.equal(result.doc.file?.path, "/tmp/x");
  // The cut is listed; 50,000 levels are too deep even for their JSON text, so that part is left out.
  // Level 1 is the details object: `deep` is level 2, and the 21st level is the first cut.
  assert.deepEqual(tr.truncated, [`deep${".d".repeat(19)}`]);
  assert.ok(result.doc.tags?.includes("tanium_ecs_unsafe_key_removed"));
});

test("Other Parameters keeps `=` inside values (base64 padding) and splits on the first `=` only", () => {
  fc.assert(
    fc.property(
      fc.string({ maxLength: 40 }).filter((s) => !s.includes("|")),
      fc.uint8Array({ maxLength: 64 }),
      (name, bytes) => {
        const payload = Buffer.from(bytes).toString("base64");
        const pairs = splitOtherParameters(`name=${name}|source=a=b|type=t|payload=${payload}`);
        assert.deepEqual(pairs, [
          ["name", name],
          ["source", "a=b"],
          ["type", "t"],
          ["payload", payload],
        ]);
      },
    ),
    { numRuns: 300 },
  );
});

test("any JSON object round-trips through base64 in the payload, and its match data is read back", () => {
  const matchArb = fc.record({
    type: fc.constantFrom("process", "file", "port"),
    pid: fc.integer({ min: 0, max: 2 ** 31 }),
    path: fc.string({ minLength: 1, maxLength: 30 }),
    md5: fc.stringMatching(/^[0-9a-f]{32}$/),
    extra: fc.dictionary(fc.string({ maxLength: 8 }), fc.jsonValue({ maxDepth: 3 })),
  });
  fc.assert(
    fc.property(matchArb, fc.boolean(), (m, pretty) => {
      const details = {
        extra: m.extra,
        match: {
          type: m.type,
          properties: {
            pid: m.pid,
            fullpath: m.path,
            md5: m.md5,
            file: { fullpath: m.path },
            process: { pid: m.pid },
          },
        },
      };
      const text = JSON.stringify(details, null, pretty ? 2 : undefined);
      const pairs = splitOtherParameters(`name=r|payload=${b64(text)}`);
      const decoded = decodePayload(pairs[1]?.[1] ?? "");
      assert.ok(decoded.ok);
      // The same object as parsing the text directly, with the same safety: fast-check may
      // generate `__proto__` keys, which both remove.
      const direct = parseJsonSafely(text);
      assert.ok(direct.ok);
      assert.deepEqual(decoded.value, direct.value);
      assert.equal(decoded.unsafeKeys, direct.unsafeKeys);
      const record = readMatchDetails(decoded.value, decoded.text);
      assert.equal(record.type, m.type);
      if (m.type === "file") assert.equal(record.file?.path, m.path);
      else assert.equal(record.process?.process.pid, m.pid);
      assert.ok(record.hashes.includes(m.md5) || m.type === "port");
    }),
    { numRuns: 200 },
  );
});

test("random bytes as the payload never throw: an alert or an ERR_PAYLOAD dead letter", () => {
  const base = JSON.parse(ALERT_SAMPLES[2] as string) as Record<string, unknown>;
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 256 }), fc.boolean(), (bytes, asBase64) => {
      const payload = asBase64
        ? Buffer.from(bytes).toString("base64")
        : Buffer.from(bytes).toString("latin1");
      const line = JSON.stringify({
        ...base,
        "Other Parameters": `name=x|source=y|type=z|payload=${payload}`,
      });
      const result = normalize(line, { receivedAt });
      if (result.ok) assert.equal(result.doc.event.kind, "alert");
      else assert.ok(["ERR_PAYLOAD", "ERR_FIELD_TYPE"].includes(result.error.code), result.error.code);
    }),
    { numRuns: 300 },
  );
});

test("mutated alerts (any value replaced, keys respelled) never throw", () => {
  const objects = ALERT_SAMPLES.map((line) => JSON.parse(line) as Record<string, unknown>);
  const spellings = [
    (k: string) => k,
    (k: string) => k.replaceAll(" ", ""),
    (k: string) => k.toLowerCase().replaceAll(" ", "_"),
    (k: string) => k.replaceAll(" ", "-"),
  ];
  fc.assert(
    fc.property(
      fc.nat(objects.length - 1),
      fc.nat(spellings.length - 1),
      fc.array(fc.tuple(fc.nat(20), fc.jsonValue({ maxDepth: 3 })), { maxLength: 4 }),
      (which, spelling, replacements) => {
        const original = objects[which] as Record<string, unknown>;
        const keys = Object.keys(original);
        const mutated: Record<string, unknown> = {};
        for (const key of keys) mutated[(spellings[spelling] as (k: string) => string)(key)] = original[key];
        const mutatedKeys = Object.keys(mutated);
        for (const [at, value] of replacements)
          mutated[mutatedKeys[at % mutatedKeys.length] as string] = value;
        checkOutcome(JSON.stringify(mutated));
      },
    ),
    { numRuns: 400 },
  );
});

test("mutated Match Details (values replaced anywhere in the tree, `{}` for scalars) never throw", () => {
  const details = (JSON.parse(ALERT_SAMPLES[0] as string) as { "Match Details": unknown })["Match Details"];
  const paths: string[][] = [];
  const collect = (node: unknown, path: string[]): void => {
    if (node === null || typeof node !== "object") return;
    for (const [key, value] of Object.entries(node)) {
      paths.push([...path, key]);
      collect(value, [...path, key]);
    }
  };
  collect(details, []);
  fc.assert(
    fc.property(
      fc.array(fc.tuple(fc.nat(paths.length - 1), fc.oneof(fc.constant({}), fc.jsonValue({ maxDepth: 2 }))), {
        minLength: 1,
        maxLength: 6,
      }),
      (replacements) => {
        const copy = structuredClone(details) as Record<string, unknown>;
        for (const [at, value] of replacements) {
          const path = paths[at] as string[];
          let node: unknown = copy;
          for (const key of path.slice(0, -1)) {
            node =
              node !== null && typeof node === "object" ? (node as Record<string, unknown>)[key] : undefined;
          }
          if (node !== null && typeof node === "object")
            (node as Record<string, unknown>)[path.at(-1) as string] = structuredClone(value);
        }
        checkOutcome(JSON.stringify({ "Alert Id": "x", "Match Details": copy }));
      },
    ),
    { numRuns: 400 },
  );
});

test("a process ancestry deeper than the cap is cut, flagged and tagged, not walked to the end", () => {
  // Built as text: JSON.stringify itself would overflow the stack on 5000 levels.
  let chain = '{"pid":1,"name":"init"}';
  for (let pid = 2; pid <= 5000; pid++) chain = `{"pid":${pid},"name":"p${pid}","parent":${chain}}`;
  const line = `{"Alert Id":"deep","Match Details":{"match":{"type":"process","properties":${chain}}}}`;
  const result = normalize(line, { receivedAt });
  assert.ok(result.ok);
  const tr = (result.doc.tanium as { threat_response: Record<string, unknown> }).threat_response;
  assert.equal(tr.process_ancestry_truncated, true);
  assert.equal((tr.process_ancestry as unknown[]).length, MAX_ANCESTRY_DEPTH - 1);
  assert.ok(result.doc.tags?.includes("tanium_ecs_ancestry_truncated"));
  assert.equal(result.doc.process?.pid, 5000);
  assert.equal(result.doc.process?.parent?.pid, 4999);
});

test("`__proto__` inside a base64 payload never reaches a prototype", () => {
  const payload = b64('{"__proto__":{"polluted":1},"match":{"type":"file","properties":{"fullpath":"/x"}}}');
  const result = normalize(
    JSON.stringify({ "Event Name": "detect.match", "Other Parameters": `payload=${payload}` }),
    {
      receivedAt,
    },
  );
  assert.ok(result.ok);
  assert.equal(({} as Record<string, unknown>).polluted, undefined);
  assert.equal(result.doc.file?.path, "/x");
  assert.ok(result.doc.tags?.includes("tanium_ecs_unsafe_key_removed"));
});

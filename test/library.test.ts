/**
 * The library's promises beyond single fixtures: every confirmed sample normalizes to valid ECS,
 * ids are stable, input cannot pollute prototypes, and bad input is a value, never a throw.
 */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import fc from "fast-check";
import { validateEcs } from "../src/ecs/validate.ts";
import { deadLetter, normalize } from "../src/normalize.ts";
import { ecsReference, REPO_ROOT, samplesOf } from "./helpers.ts";

const receivedAt = "2026-01-01T00:00:00.000Z";
const SAMPLES = samplesOf("recorder");
const EXAMPLE = readFileSync(join(REPO_ROOT, "examples", "recorder.ndjson"), "utf8")
  .split("\n")
  .filter(Boolean);

test("every recorder sample of the Tanium reference normalizes to a valid ECS document", () => {
  assert.ok(SAMPLES.length >= 30, "the samples hold the recorder lines");
  for (const line of SAMPLES) {
    const result = normalize(line, { receivedAt });
    assert.ok(result.ok, `${line.slice(0, 80)}: ${result.ok ? "" : result.error.message}`);
    assert.deepEqual(
      validateEcs(JSON.parse(JSON.stringify(result.doc)), ecsReference()),
      [],
      line.slice(0, 80),
    );
  }
});

test("the example file shipped for the README normalizes without a dead letter", () => {
  for (const line of EXAMPLE) assert.ok(normalize(line, { receivedAt }).ok, line.slice(0, 80));
});

test("the same event gets the same event.id however it was wrapped, and another event another id", () => {
  const raw = EXAMPLE[0] as string;
  const bare = normalize(raw, { receivedAt });
  const enveloped = normalize(JSON.stringify({ message: raw }), { receivedAt: "2027-05-05T00:00:00Z" });
  const syslog = normalize(`<14>1 2024-03-11T09:15:42.500Z tanium-srv-01 Tanium - - - ${raw}`, {
    receivedAt,
  });
  const other = normalize(EXAMPLE[1] as string, { receivedAt });
  assert.ok(bare.ok && enveloped.ok && syslog.ok && other.ok);
  assert.equal(bare.doc.event.id, enveloped.doc.event.id);
  assert.equal(bare.doc.event.id, syslog.doc.event.id);
  assert.notEqual(bare.doc.event.id, other.doc.event.id);
  assert.equal(
    syslog.doc.tanium?.envelope?.prefix,
    "<14>1 2024-03-11T09:15:42.500Z tanium-srv-01 Tanium - - -",
  );
});

test("the receive time stamps event.ingested and is the last fallback for @timestamp", () => {
  const result = normalize('{"event":"file_open","fields":{"full_path":"/etc/hosts"}}', {
    receivedAt: new Date("2026-02-03T04:05:06.789Z"),
  });
  assert.ok(result.ok);
  assert.equal(result.doc.event.ingested, "2026-02-03T04:05:06.789Z");
  assert.equal(result.doc["@timestamp"], "2026-02-03T04:05:06.789Z");
});

test("--no-original's library option leaves event.original out but keeps event.id", () => {
  const result = normalize(EXAMPLE[0] as string, { receivedAt, original: false });
  assert.ok(result.ok);
  assert.equal(result.doc.event.original, undefined);
  assert.match(result.doc.event.id ?? "", /^[0-9a-f]{32}$/);
});

test("__proto__ and constructor.prototype keys in input never reach Object.prototype", () => {
  const hostile = [
    '{"event":"file_open","fields":{"__proto__":{"polluted":1},"full_path":"/x"}}',
    '{"event":"file_open","fields":{"\\u005f_proto__":{"polluted":1},"full_path":"/x"}}',
    '{"__proto__":{"polluted":1},"event":"file_open","fields":{"constructor":{"prototype":{"polluted":1}}}}',
    '{"message":"{\\"event\\":\\"x\\",\\"fields\\":{\\"__proto__\\":{\\"polluted\\":1}}}"}',
  ];
  for (const line of hostile) {
    const result = normalize(line, { receivedAt });
    assert.ok(result.ok, line);
    assert.ok(result.unsafeKeys > 0, line);
    assert.deepEqual(result.doc.tags, ["tanium_ecs_unsafe_key_removed"]);
    const { original, ...event } = result.doc.event;
    assert.ok(original?.includes("polluted"), "the raw text is kept whole");
    assert.equal(JSON.stringify({ ...result.doc, event }).includes("polluted"), false, line);
    assert.equal(({} as Record<string, unknown>).polluted, undefined);
  }
});

test("a too-long line is refused before it is parsed", () => {
  const line = `{"event":"file_open","fields":{"full_path":"${"a".repeat(2000)}"}}`;
  const result = normalize(line, { maxBytes: 1000 });
  assert.ok(!result.ok);
  assert.equal(result.error.code, "ERR_LINE_TOO_LONG");
  const multibyte = `{"event":"file_open","fields":{"full_path":"${"é".repeat(400)}"}}`;
  assert.equal(multibyte.length < 1000, true);
  const cut = normalize(multibyte, { maxBytes: 800 });
  assert.ok(!cut.ok && cut.error.code === "ERR_LINE_TOO_LONG", "the cap counts UTF-8 bytes, not characters");
});

test("a dead letter keeps the original text, the stable code, the input name and the line", () => {
  const result = normalize("not json at all", { receivedAt });
  assert.ok(!result.ok);
  const doc = deadLetter(result.error, {
    original: "not json at all",
    input: "in.ndjson",
    line: 7,
    receivedAt,
  });
  assert.equal(doc.event.kind, "pipeline_error");
  assert.equal(doc.error?.code, "ERR_JSON_SYNTAX");
  assert.equal(doc.event.original, "not json at all");
  assert.deepEqual(doc.tanium?.input, { name: "in.ndjson", line: 7 });
  assert.deepEqual(validateEcs(JSON.parse(JSON.stringify(doc)), ecsReference()), []);
});

test("any string, and any mutation of a real event, gives a document or a typed error, never a throw", () => {
  const codes = new Set([
    "ERR_LINE_TOO_LONG",
    "ERR_JSON_SYNTAX",
    "ERR_NOT_AN_OBJECT",
    "ERR_NO_EVENT",
    "ERR_FIELD_TYPE",
    "ERR_TOO_DEEP",
  ]);
  const check = (line: string): void => {
    const result = normalize(line, { receivedAt });
    if (result.ok) JSON.parse(JSON.stringify(result.doc));
    else assert.ok(codes.has(result.error.code), result.error.code);
  };
  fc.assert(fc.property(fc.string({ unit: "binary" }), check), { numRuns: 300 });
  fc.assert(
    fc.property(
      fc.constantFrom(...SAMPLES),
      fc.nat(),
      fc.nat(),
      fc.string({ unit: "binary", maxLength: 8 }),
      (line, at, cut, junk) => {
        const i = at % (line.length + 1);
        check(line.slice(0, i) + junk + line.slice(i + (cut % 4)));
      },
    ),
    { numRuns: 1000 },
  );
  fc.assert(
    fc.property(fc.jsonValue(), (value) => {
      check(JSON.stringify({ event: "file_open", hostname: "h", fields: { full_path: "/x", extra: value } }));
      check(JSON.stringify({ event: "network_connect", fields: { local_ip: value, remote_port: value } }));
    }),
    { numRuns: 300 },
  );
});

test("a defect met while mapping becomes an ERR_INTERNAL error value, not a throw", () => {
  const booby = {
    event: "file_open",
    get fields(): never {
      throw new Error("boom");
    },
  };
  const result = normalize(booby, { receivedAt });
  assert.ok(!result.ok);
  assert.equal(result.error.code, "ERR_INTERNAL");
  assert.match(result.error.message, /boom/);
});

/**
 * @module test/framing-json-body
 * The `application/json` body framer: an array, one (pretty-printed) event, JSON lines sent under
 * that type, a UTF-8 BOM; and, with fast-check, that any split of the same body gives the same
 * frames and that no bytes make it throw.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { JsonBodyFramer, type Frame } from "../src/framing/index.ts";
import { splitAt } from "./helpers.ts";

function frames(chunks: readonly Uint8Array[], maxBytes = 1 << 20): Frame[] {
  const framer = new JsonBodyFramer({ maxBytes });
  const out: Frame[] = [];
  for (const chunk of chunks) framer.push(chunk, out);
  framer.end(out);
  return out;
}

function texts(body: string | Uint8Array, maxBytes?: number): string[] {
  return frames([typeof body === "string" ? Buffer.from(body) : body], maxBytes).map((f) =>
    f.kind === "line" ? f.text : `<${f.kind}>`,
  );
}

const BOM = "\ufeff";
const cutsArb = fc.array(fc.nat({ max: 4096 }), { maxLength: 24 });

describe("JsonBodyFramer", () => {
  it("takes JSON lines sent as application/json as one event per line", () => {
    assert.deepEqual(texts('{"a":1}\n{"b":2}\r\n\n{"c":3}'), ['{"a":1}', '{"b":2}', '{"c":3}']);
  });

  it("keeps a broken line of JSON lines to itself", () => {
    assert.deepEqual(texts('{"a":1}\n{not json\n{"b":2}\n'), ['{"a":1}', "{not json", '{"b":2}']);
  });

  it("frames one pretty-printed event whole, and pretty-printed events one by one", () => {
    assert.deepEqual(texts('{\n  "a": 1\n}\n'), ['{\n  "a": 1\n}']);
    assert.deepEqual(texts('{\n "a": 1\n}\n{\n "b": [1,\n 2]\n}'), ['{\n "a": 1\n}', '{\n "b": [1,\n 2]\n}']);
  });

  it("strips a UTF-8 BOM before an object, an array or JSON lines", () => {
    assert.deepEqual(texts(`${BOM}{"a":1}`), ['{"a":1}']);
    assert.deepEqual(texts(`${BOM}[{"a":1},{"b":2}]`), ['{"a":1}', '{"b":2}']);
    assert.deepEqual(texts(`${BOM}{"a":1}\n{"b":2}\n`), ['{"a":1}', '{"b":2}']);
  });

  it("streams an array element by element", () => {
    assert.deepEqual(texts(' [ {"a":1} , {"b":[2]} ] '), ['{"a":1}', '{"b":[2]}']);
  });

  it("cuts a value over the cap to an oversize frame and carries on", () => {
    assert.deepEqual(texts(`{"a":"${"x".repeat(200)}"}\n{"b":1}`, 100), ["<oversize>", '{"b":1}']);
    assert.deepEqual(texts(`{\n"a":"${"x".repeat(200)}"\n}\n{"b":1}`, 100), ["<oversize>", '{"b":1}']);
  });

  it("gives the same frames for any split of any bytes, and never throws", () => {
    const byte = fc.oneof(
      fc.constantFrom(...Buffer.from('{}[]"\\\n\r ,:\ufeffé')),
      fc.integer({ min: 0, max: 255 }),
    );
    fc.assert(
      fc.property(
        fc.array(byte, { maxLength: 300 }),
        cutsArb,
        fc.integer({ min: 1, max: 64 }),
        (body, cuts, max) => {
          const input = Uint8Array.from(body);
          assert.deepEqual(frames(splitAt(input, cuts), max), frames([input], max));
        },
      ),
      { numRuns: 500 },
    );
  });

  it("gives back each object of JSON lines, with or without a BOM, under any split", () => {
    fc.assert(
      fc.property(
        fc.array(fc.dictionary(fc.string({ maxLength: 6 }), fc.jsonValue({ maxDepth: 2 })), {
          minLength: 1,
          maxLength: 8,
        }),
        fc.boolean(),
        cutsArb,
        (objects, bom, cuts) => {
          const body = Buffer.from(`${bom ? BOM : ""}${objects.map((o) => JSON.stringify(o)).join("\n")}\n`);
          const out = frames(splitAt(body, cuts));
          assert.deepEqual(
            out.map((f) => (f.kind === "line" ? (JSON.parse(f.text) as unknown) : f)),
            objects.map((o) => JSON.parse(JSON.stringify(o)) as unknown),
          );
        },
      ),
    );
  });

  it("gives back one pretty-printed object whole under any split", () => {
    fc.assert(
      fc.property(
        fc.dictionary(fc.string({ maxLength: 6 }), fc.jsonValue({ maxDepth: 3 })),
        cutsArb,
        (object, cuts) => {
          const source = JSON.stringify(object, null, 2);
          const out = frames(splitAt(Buffer.from(source), cuts));
          assert.equal(out.length, 1);
          assert.equal(out[0]!.kind, "line");
          if (out[0]!.kind === "line") assert.deepEqual(JSON.parse(out[0]!.text), JSON.parse(source));
        },
      ),
    );
  });
});

/**
 * @module test/framing
 * The framing layer: newline and JSON-array framers and the auto-detecting front, checked on
 * examples and, with fast-check, on any content and any chunking of the bytes.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { splitAt } from "./helpers.ts";
import { AutoFramer, JsonArrayFramer, LineFramer, type Frame, type Framer } from "../src/framing/index.ts";

type FramerKind = "lines" | "json-array" | "auto";

function makeFramer(kind: FramerKind, maxBytes: number, headBytes?: number): Framer & { buffered: number } {
  const options = headBytes === undefined ? { maxBytes } : { maxBytes, headBytes };
  if (kind === "lines") return new LineFramer(options);
  if (kind === "json-array") return new JsonArrayFramer(options);
  return new AutoFramer(options);
}

/** Every frame the framer emits for these chunks, end() included. */
function frames(framer: Framer, chunks: readonly Uint8Array[]): Frame[] {
  const out: Frame[] = [];
  for (const chunk of chunks) framer.push(chunk, out);
  framer.end(out);
  return out;
}

function bytes(input: string | Uint8Array): Buffer {
  return typeof input === "string" ? Buffer.from(input, "utf8") : Buffer.from(input);
}

/** The input in chunks of `size` bytes. */
function every(input: Uint8Array, size: number): Uint8Array[] {
  const chunks: Uint8Array[] = [];
  for (let i = 0; i < input.length; i += size) chunks.push(input.subarray(i, i + size));
  return chunks;
}

function frameLines(input: string | Uint8Array, maxBytes = 1024, headBytes?: number): Frame[] {
  return frames(makeFramer("lines", maxBytes, headBytes), [bytes(input)]);
}

function frameArray(input: string | Uint8Array, maxBytes = 1024, headBytes?: number): Frame[] {
  return frames(makeFramer("json-array", maxBytes, headBytes), [bytes(input)]);
}

const line = (text: string, n: number): Frame => ({ kind: "line", text, line: n });

const cutsArb = fc.array(fc.nat({ max: 4096 }), { maxLength: 24 });

describe("LineFramer", () => {
  it("accepts CRLF line endings and strips only the one \\r that belongs to them", () => {
    assert.deepEqual(frameLines("a\r\nb\r\r\nc\n"), [line("a", 1), line("b\r", 2), line("c", 3)]);
  });

  it("skips blank and whitespace-only lines but still counts them in line numbers", () => {
    assert.deepEqual(frameLines("\n  \t\r\nfirst\n\r\n \nsecond\n\n"), [line("first", 3), line("second", 6)]);
  });

  it("keeps leading and inner whitespace of a line as it is", () => {
    assert.deepEqual(frameLines("  a b\t\n"), [line("  a b\t", 1)]);
  });

  it("drops a UTF-8 BOM at the start of the input, even split across chunks, but nowhere else", () => {
    const input = bytes("\ufeffone\n\ufefftwo\n");
    const expected = [line("one", 1), line("\ufefftwo", 2)];
    assert.deepEqual(frames(new LineFramer({ maxBytes: 100 }), [input]), expected);
    assert.deepEqual(frames(new LineFramer({ maxBytes: 100 }), every(input, 1)), expected);
  });

  it("keeps bytes that only begin like a BOM", () => {
    const input = Buffer.from([0xef, 0xbb, 0x41, 0x0a, 0xef]);
    assert.deepEqual(frames(new LineFramer({ maxBytes: 100 }), every(input, 1)), [
      line("\ufffdA", 1),
      line("\ufffd", 2),
    ]);
  });

  it("emits a final line that has no newline when the input ends", () => {
    assert.deepEqual(frameLines("one\ntwo"), [line("one", 1), line("two", 2)]);
    assert.deepEqual(frameLines("one\ntwo\r"), [line("one", 1), line("two", 2)]);
  });

  it("reports a line over maxBytes as oversize with its full length and head, leaving later lines intact", () => {
    const long = "x".repeat(50) + "y".repeat(50);
    const input = bytes(`short\n${long}\r\nafter\n`);
    const expected: Frame[] = [
      line("short", 1),
      { kind: "oversize", line: 2, bytes: 100, head: "x".repeat(8) },
      line("after", 3),
    ];
    for (const size of [1, 3, 7, 64, input.length]) {
      assert.deepEqual(frames(new LineFramer({ maxBytes: 20, headBytes: 8 }), every(input, size)), expected);
    }
  });

  it("accepts a line of exactly maxBytes, with or without CRLF", () => {
    const input = bytes("abcd\r\nabcd\nabcde\r\n");
    const expected: Frame[] = [
      line("abcd", 1),
      line("abcd", 2),
      { kind: "oversize", line: 3, bytes: 5, head: "abcd" },
    ];
    for (const size of [1, 2, 5, input.length]) {
      assert.deepEqual(frames(new LineFramer({ maxBytes: 4 }), every(input, size)), expected);
    }
  });

  it("does not cut a multi-byte character in half in an oversize head", () => {
    const [frame] = frameLines("ab€€€€", 6, 4);
    assert.deepEqual(frame, { kind: "oversize", line: 1, bytes: 14, head: "ab" });
  });

  it("holds no more than maxBytes + 1 bytes while reading a huge line", () => {
    const framer = new LineFramer({ maxBytes: 1000, headBytes: 100 });
    const out: Frame[] = [];
    const chunk = Buffer.alloc(65536, 0x61);
    for (let i = 0; i < 160; i++) {
      framer.push(chunk, out);
      assert.ok(framer.buffered <= 1001, `buffered ${framer.buffered}`);
    }
    framer.push(bytes("\nnext\n"), out);
    framer.end(out);
    assert.deepEqual(out, [
      { kind: "oversize", line: 1, bytes: 160 * 65536, head: "a".repeat(100) },
      line("next", 2),
    ]);
  });

  it("reassembles multi-byte UTF-8 characters split across chunks", () => {
    const input = bytes("héllo €uro 😀\nçà\n");
    for (const size of [1, 2, 3]) {
      assert.deepEqual(frames(new LineFramer({ maxBytes: 100 }), every(input, size)), [
        line("héllo €uro 😀", 1),
        line("çà", 2),
      ]);
    }
  });

  it("turns invalid UTF-8 into U+FFFD instead of throwing", () => {
    const input = Buffer.from([0x61, 0xff, 0x62, 0x0a, 0xc3, 0x0a, 0xe2, 0x82]);
    assert.deepEqual(frameLines(input), [line("a\ufffdb", 1), line("\ufffd", 2), line("\ufffd", 3)]);
  });
});

describe("JsonArrayFramer", () => {
  it("cuts an array into its elements, undisturbed by brackets, quotes and backslashes inside strings", () => {
    const elements = [
      String.raw`{"a":"x]}"}`,
      String.raw`"a\\"`,
      String.raw`"\"]"`,
      String.raw`"}{,"`,
      String.raw`{"n":[1,{"m":"[\"{"}],"b":"\\\\"}`,
      "[1,[2,[3]]]",
      "-1.5e3",
      "true",
      "null",
    ];
    const input = bytes(`[${elements.join(",")}]`);
    for (const size of [1, 2, 5, input.length]) {
      assert.deepEqual(
        frames(new JsonArrayFramer({ maxBytes: 1000 }), every(input, size)),
        elements.map((text) => line(text, 1)),
      );
    }
  });

  it("gives each element of a pretty-printed array the line it starts on", () => {
    const input = JSON.stringify([{ a: 1, b: [1, 2] }, "s", { c: { d: null } }], null, 2);
    const out = frameArray(`\n${input}\n`);
    assert.deepEqual(
      out.map((f) => f.line),
      [3, 10, 11],
    );
    assert.deepEqual(
      out.map((f) => (f.kind === "line" ? JSON.parse(f.text) : f)),
      [{ a: 1, b: [1, 2] }, "s", { c: { d: null } }],
    );
  });

  it("yields nothing for an empty array, with or without whitespace, or for empty input", () => {
    assert.deepEqual(frameArray("[]"), []);
    assert.deepEqual(frameArray("\ufeff \n[ \n ]\n"), []);
    assert.deepEqual(frameArray(""), []);
  });

  it("reports an element over maxBytes as oversize and still finds the elements after it", () => {
    const big = JSON.stringify({ s: "x".repeat(100), t: "]},[" });
    const input = bytes(`[1,${big},2]`);
    for (const size of [1, 7, input.length]) {
      assert.deepEqual(frames(new JsonArrayFramer({ maxBytes: 50, headBytes: 6 }), every(input, size)), [
        line("1", 1),
        { kind: "oversize", line: 1, bytes: Buffer.byteLength(big), head: '{"s":"' },
        line("2", 1),
      ]);
    }
  });

  it("reports a missing comma and still emits the element's text, in an error", () => {
    const out = frameArray('[{"a":1}\n{"b":2}, 3]');
    assert.deepEqual(out[0], line('{"a":1}', 1));
    assert.equal(out[1]?.kind, "error");
    assert.deepEqual(out[1], { ...out[1], line: 2, text: '{"b":2}' });
    assert.deepEqual(out[2], line("3", 2));
    assert.equal(out.length, 3);
  });

  it("reports text after the closing bracket", () => {
    const out = frameArray("[1]\n[2] x");
    assert.deepEqual(out[0], line("1", 1));
    assert.deepEqual(
      out.slice(1).map((f) => (f.kind === "error" ? [f.line, f.text] : f)),
      [
        [2, "[2]"],
        [2, "x"],
      ],
    );
  });

  it("reports stray closing brackets, doubled and trailing commas, and carries on", () => {
    const out = frameArray("[1},,2,]");
    assert.deepEqual(
      out.map((f) => (f.kind === "error" ? `error:${f.text}` : f.kind === "line" ? f.text : f.kind)),
      ["1", "error:}", "error:,", "2", "error:]"],
    );
  });

  it("reports an array left unterminated, with the text of its cut-off last element", () => {
    const out = frameArray('[\n{"a":1},\n{"b":"x\n');
    assert.deepEqual(out[0], line('{"a":1}', 2));
    assert.equal(out.length, 2);
    assert.equal(out[1]?.kind, "error");
    assert.deepEqual(out[1], { ...out[1], line: 3, text: '{"b":"x\n' });

    const missingBracket = frameArray("[1,\n2,\n");
    assert.deepEqual(missingBracket.slice(0, 2), [line("1", 1), line("2", 2)]);
    assert.equal(missingBracket[2]?.kind, "error");
    assert.equal(missingBracket.length, 3);
  });

  it("reports input that is not an array, keeping each value's text", () => {
    const out = frameArray('{"a":1}\n{"b":2}\n');
    assert.deepEqual(
      out.map((f) => (f.kind === "error" ? [f.line, f.text] : f)),
      [
        [1, '{"a":1}'],
        [2, '{"b":2}'],
      ],
    );
  });

  it("caps the text of an error at headBytes", () => {
    const out = frameArray(`[1 "${"z".repeat(100)}"]`, 1000, 10);
    assert.deepEqual(out[1], { ...out[1], kind: "error", text: `"${"z".repeat(9)}` });
  });
});

describe("AutoFramer", () => {
  it("picks JSON-array framing when the first non-blank byte is '[', after a BOM and blank lines", () => {
    const framer = new AutoFramer({ maxBytes: 100 });
    const out = frames(framer, [bytes("\ufeff \r\n\n[1,\n2]")]);
    assert.equal(framer.mode, "json-array");
    assert.deepEqual(out, [line("1", 3), line("2", 4)]);
  });

  it("picks line framing for anything else, keeping the line's leading whitespace", () => {
    const framer = new AutoFramer({ maxBytes: 100 });
    const out = frames(framer, [bytes('\n  {"a":1}\n{"b":2}\n')]);
    assert.equal(framer.mode, "lines");
    assert.deepEqual(out, [line('  {"a":1}', 2), line('{"b":2}', 3)]);
  });

  it("waits while only a BOM and whitespace have arrived, then decides on a later chunk", () => {
    const framer = new AutoFramer({ maxBytes: 100 });
    const out: Frame[] = [];
    for (const chunk of [[0xef], [0xbb], [0xbf, 0x20], [0x0a, 0x0a, 0x20]]) {
      framer.push(Uint8Array.from(chunk), out);
      assert.equal(framer.mode, undefined);
    }
    framer.push(bytes('[{"a":1}]'), out);
    assert.equal(framer.mode, "json-array");
    framer.end(out);
    assert.deepEqual(out, [line('{"a":1}', 3)]);
  });

  it("treats bytes that only begin like a BOM as text", () => {
    const framer = new AutoFramer({ maxBytes: 100 });
    const out = frames(framer, [Uint8Array.from([0xef, 0xbb]), bytes("[1]\n")]);
    assert.equal(framer.mode, "lines");
    assert.deepEqual(out, [line("\ufffd[1]", 1)]);
  });

  it("yields nothing and stays undecided for blank input", () => {
    const framer = new AutoFramer({ maxBytes: 100 });
    assert.deepEqual(frames(framer, [bytes("\ufeff \n\t\r\n")]), []);
    assert.equal(framer.mode, undefined);
  });
});

describe("framing properties", () => {
  const lineChar = fc.oneof(
    fc.constantFrom("\r", " ", "\t", "\ufeff", "é", "€", "😀"),
    fc.string({ unit: "binary", minLength: 1, maxLength: 1 }).filter((c) => c !== "\n"),
  );

  it("emits exactly the non-blank lines, numbered, however the bytes are chunked", () => {
    fc.assert(
      fc.property(
        fc.array(fc.string({ unit: lineChar, maxLength: 12 }), { maxLength: 12 }),
        fc.constantFrom("\n", "\r\n"),
        cutsArb,
        (lines, separator, cuts) => {
          const input = bytes(lines.join(separator));
          const expected: Frame[] = [];
          lines.forEach((raw, index) => {
            let text = index === 0 && raw.startsWith("\ufeff") ? raw.slice(1) : raw;
            // A CRLF separator's \r is the separator's; otherwise one trailing \r is stripped.
            if ((separator === "\n" || index === lines.length - 1) && text.endsWith("\r")) {
              text = text.slice(0, -1);
            }
            if (!/^[ \t\r]*$/.test(text)) expected.push(line(text, index + 1));
          });
          assert.deepEqual(frames(new LineFramer({ maxBytes: 1 << 20 }), [input]), expected);
          assert.deepEqual(frames(new LineFramer({ maxBytes: 1 << 20 }), splitAt(input, cuts)), expected);
        },
      ),
    );
  });

  it("emits one frame per array element that parses back to the element, compact or pretty-printed", () => {
    const tricky = fc.oneof(
      fc.constantFrom('"', "\\", "[", "]", "{", "}", ",", "\n", "é", "😀"),
      fc.string({ unit: "binary", minLength: 1, maxLength: 1 }),
    );
    fc.assert(
      fc.property(
        fc.array(fc.jsonValue({ maxDepth: 3, stringUnit: tricky }), { maxLength: 8 }),
        fc.boolean(),
        cutsArb,
        (values, pretty, cuts) => {
          const source = pretty ? JSON.stringify(values, null, 2) : JSON.stringify(values);
          const out = frames(new JsonArrayFramer({ maxBytes: 1 << 20 }), splitAt(bytes(source), cuts));
          const expected: unknown = JSON.parse(source);
          assert.ok(Array.isArray(expected));
          assert.equal(out.length, expected.length);
          let cursor = 0;
          out.forEach((frame, index) => {
            assert.equal(frame.kind, "line");
            if (frame.kind !== "line") return;
            assert.deepEqual(JSON.parse(frame.text), expected[index]);
            const at = source.indexOf(frame.text, cursor);
            assert.ok(at >= 0);
            assert.equal(frame.line, source.slice(0, at).split("\n").length);
            cursor = at + frame.text.length;
          });
        },
      ),
    );
  });

  const structural = Buffer.from('[]{}",\\ \n\r\ta1\xef\xbb\xbf\xc3\xa9\xff\x80', "latin1");
  const hostileBytes = fc.oneof(
    fc.uint8Array({ maxLength: 200 }),
    fc.array(fc.constantFrom(...structural), { maxLength: 200 }).map((a) => Uint8Array.from(a)),
  );

  it("never throws on arbitrary bytes, emits well-formed frames, and ignores chunking", () => {
    fc.assert(
      fc.property(
        fc.constantFrom<FramerKind>("lines", "json-array", "auto"),
        hostileBytes,
        cutsArb,
        fc.integer({ min: 0, max: 40 }),
        fc.integer({ min: 0, max: 40 }),
        (kind, input, cuts, maxBytes, headBytes) => {
          const framer = makeFramer(kind, maxBytes, headBytes);
          const out: Frame[] = [];
          for (const chunk of splitAt(input, cuts)) {
            framer.push(chunk, out);
            assert.ok(framer.buffered <= maxBytes + 1);
          }
          framer.end(out);
          assert.deepEqual(out, frames(makeFramer(kind, maxBytes, headBytes), [input]));

          const head = Math.min(headBytes, maxBytes);
          const lastLine = 1 + input.filter((b) => b === 0x0a).length;
          let previous = 1;
          for (const frame of out) {
            assert.ok(Number.isInteger(frame.line) && frame.line >= previous && frame.line <= lastLine);
            previous = frame.line;
            if (frame.kind === "line") {
              assert.ok(frame.text.length > 0 && frame.text.length <= maxBytes);
              if (kind === "lines") assert.ok(!frame.text.includes("\n"));
            } else if (frame.kind === "oversize") {
              assert.ok(frame.bytes > maxBytes && frame.head.length <= head);
            } else {
              assert.equal(frame.kind, "error");
              assert.ok(frame.message.length > 0 && frame.text.length <= head);
            }
          }
        },
      ),
    );
  });

  it("reports every line or element over maxBytes as oversize while buffering at most maxBytes + 1", () => {
    fc.assert(
      fc.property(
        fc.array(fc.string({ unit: fc.constantFrom("a", "b", "c"), maxLength: 120 }), { maxLength: 10 }),
        fc.boolean(),
        fc.integer({ min: 1, max: 50 }),
        fc.nat({ max: 50 }),
        cutsArb,
        (texts, asArray, maxBytes, headBytes, cuts) => {
          const head = Math.min(headBytes, maxBytes);
          // As an array, each element is a JSON string: two quote bytes more than its text.
          const items = asArray ? texts.map((t) => `"${t}"`) : texts;
          const input = bytes(asArray ? `[${items.join(",")}]` : items.join("\r\n"));
          const framer = asArray
            ? new JsonArrayFramer({ maxBytes, headBytes })
            : new LineFramer({ maxBytes, headBytes });
          const out: Frame[] = [];
          for (const chunk of splitAt(input, cuts)) {
            framer.push(chunk, out);
            assert.ok(framer.buffered <= maxBytes + 1);
          }
          framer.end(out);
          const expected = items.flatMap((item, index): Frame[] => {
            const n = asArray ? 1 : index + 1;
            if (item.length === 0) return [];
            if (item.length > maxBytes)
              return [{ kind: "oversize", line: n, bytes: item.length, head: item.slice(0, head) }];
            return [line(item, n)];
          });
          assert.deepEqual(out, expected);
        },
      ),
    );
  });
});

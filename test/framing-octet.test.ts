import { describe, it } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { DetectFramer, OctetFramer } from "../src/framing/octet.ts";
import type { Frame, Framer } from "../src/framing/index.ts";
import { splitAt } from "./helpers.ts";

const enc = (s: string): Buffer => Buffer.from(s, "utf8");

function frameAll(make: () => Framer, chunks: readonly Uint8Array[]): Frame[] {
  const framer = make();
  const out: Frame[] = [];
  for (const chunk of chunks) framer.push(chunk, out);
  framer.end(out);
  return out;
}

/** `LEN SP MSG`, optionally followed by a newline as rsyslog and syslog-ng send it. */
function octet(message: string, newline = false): string {
  return `${Buffer.byteLength(message)} ${message}${newline ? "\n" : ""}`;
}

/** Messages as senders write them: any text, not blank, without trailing line ends. */
const message = fc
  .string({ unit: "grapheme", minLength: 1, maxLength: 60 })
  .map((s) => s.replace(/[\r\n]+$/, ""))
  .filter((s) => s.trim() !== "");

const texts = (frames: readonly Frame[]): string[] =>
  frames.map((f) => (f.kind === "line" ? f.text : `<${f.kind}>`));

describe("OctetFramer", () => {
  it("cuts LEN SP MSG frames, with or without a newline after each", () => {
    const stream =
      octet('<13>1 2026-01-01T00:00:00Z h app - - - {"event":"x"}') + octet("a b\nc", true) + "\n";
    const frames = frameAll(() => new OctetFramer({ maxBytes: 1024 }), [enc(stream)]);
    assert.deepEqual(texts(frames), ['<13>1 2026-01-01T00:00:00Z h app - - - {"event":"x"}', "a b\nc"]);
    assert.deepEqual(
      frames.map((f) => f.line),
      [1, 2],
    );
  });

  it("gives the same frames however the bytes are chunked", () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(message, fc.boolean()), { maxLength: 12 }),
        fc.array(fc.nat(), { maxLength: 20 }),
        (messages, cuts) => {
          const bytes = enc(messages.map(([m, nl]) => octet(m, nl)).join(""));
          const whole = frameAll(() => new OctetFramer({ maxBytes: 4096 }), [bytes]);
          assert.deepEqual(
            texts(whole),
            messages.map(([m]) => m),
          );
          assert.deepEqual(
            frameAll(() => new OctetFramer({ maxBytes: 4096 }), splitAt(bytes, cuts)),
            whole,
          );
        },
      ),
    );
  });

  it("never throws on random bytes, whatever the chunking, and holds at most the caps", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 400 }), fc.array(fc.nat(), { maxLength: 10 }), (bytes, cuts) => {
        const whole = frameAll(() => new OctetFramer({ maxBytes: 32, headBytes: 8 }), [bytes]);
        const framer = new OctetFramer({ maxBytes: 32, headBytes: 8 });
        const out: Frame[] = [];
        for (const chunk of splitAt(bytes, cuts)) {
          framer.push(chunk, out);
          assert.ok(framer.buffered <= 32 + 8 + 2, `buffered ${framer.buffered}`);
        }
        framer.end(out);
        assert.deepEqual(out, whole);
      }),
    );
  });

  it("reports a bad length prefix as an error frame and resyncs after the next newline", () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.oneof(
            message.map((m) => ({ good: true, text: m })),
            // Garbage lines: they cannot start with a non-zero digit, else they would be a length.
            fc
              .string({ minLength: 1, maxLength: 30 })
              .map((s) => `x${s.replace(/\n/g, " ")}`)
              .map((text) => ({ good: false, text })),
          ),
          { maxLength: 10 },
        ),
        fc.array(fc.nat(), { maxLength: 10 }),
        (items, cuts) => {
          const bytes = enc(items.map((i) => (i.good ? octet(i.text, true) : `${i.text}\n`)).join(""));
          const frames = frameAll(() => new OctetFramer({ maxBytes: 4096 }), splitAt(bytes, cuts));
          assert.deepEqual(
            frames.map((f) => (f.kind === "line" ? f.text : f.kind === "error" ? `!${f.text}` : "?")),
            items.map((i) => (i.good ? i.text : `!${i.text.replace(/\r$/, "")}`)),
          );
        },
      ),
    );
  });

  it("skips an oversize frame as it arrives, holding only its head, and the next frame comes out", () => {
    const big = "x".repeat(10_000);
    const bytes = enc(octet(big, true) + octet("after"));
    const framer = new OctetFramer({ maxBytes: 100, headBytes: 10 });
    const out: Frame[] = [];
    for (const chunk of splitAt(bytes, [500, 1000, 5000, 9000])) {
      framer.push(chunk, out);
      assert.ok(framer.buffered <= 101);
    }
    framer.end(out);
    assert.deepEqual(out, [
      { kind: "oversize", line: 1, bytes: 10_000, head: "x".repeat(10) },
      { kind: "line", line: 2, text: "after" },
    ]);
  });

  it("reports a zero length, an 11-digit length and a truncated last frame", () => {
    const out = frameAll(
      () => new OctetFramer({ maxBytes: 100 }),
      [enc("0 abc\n12345678901 x\n" + octet("ok") + "10 abc")],
    );
    assert.deepEqual(
      out.map((f) => [f.kind, f.kind === "line" ? f.text : f.kind === "error" ? f.text : ""]),
      [
        ["error", "0 abc"],
        ["error", "12345678901 x"],
        ["line", "ok"],
        ["error", "abc"],
      ],
    );
    assert.match((out[3] as { message: string }).message, /10 bytes declared, the input ends after 3/);
  });
});

describe("DetectFramer", () => {
  it("takes a digit run and a space for octet counting, anything else for lines", () => {
    const cases: [string, "octet" | "lines", string[]][] = [
      [`\n  ${octet("a")}${octet("b")}`, "octet", ["a", "b"]],
      [
        '<13>Jan  1 00:00:00 h app: {"event":"x"}\nsecond\n',
        "lines",
        ['<13>Jan  1 00:00:00 h app: {"event":"x"}', "second"],
      ],
      ['{"event":"x"}\n', "lines", ['{"event":"x"}']],
      ["2026-01-01 a\n", "lines", ["2026-01-01 a"]],
      ["12345", "lines", ["12345"]],
    ];
    for (const [input, mode, expected] of cases) {
      const framer = new DetectFramer({ maxBytes: 1024 });
      const out: Frame[] = [];
      framer.push(enc(input), out);
      framer.end(out);
      assert.equal(framer.mode, mode, input);
      assert.deepEqual(texts(out), expected, input);
    }
  });

  it("detects the same framing and frames the same, however the bytes are chunked", () => {
    fc.assert(
      fc.property(
        fc.array(message, { minLength: 1, maxLength: 8 }),
        fc.boolean(),
        fc.constantFrom("", "\n", "  \r\n"),
        fc.array(fc.nat(), { maxLength: 12 }),
        (messages, octetMode, lead, cuts) => {
          const body = octetMode
            ? messages.map((m) => octet(m, true)).join("")
            : messages.map((m) => `${m.replace(/\n/g, " ")}\n`).join("");
          const bytes = enc(lead + body);
          const whole = frameAll(() => new DetectFramer({ maxBytes: 4096 }), [bytes]);
          const framer = new DetectFramer({ maxBytes: 4096 });
          const out: Frame[] = [];
          for (const chunk of splitAt(bytes, cuts)) framer.push(chunk, out);
          framer.end(out);
          assert.deepEqual(out, whole);
          if (octetMode) {
            assert.equal(framer.mode, "octet");
            assert.deepEqual(texts(out), messages);
          }
        },
      ),
    );
  });

  it("never throws on random bytes", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), fc.array(fc.nat(), { maxLength: 8 }), (bytes, cuts) => {
        const whole = frameAll(() => new DetectFramer({ maxBytes: 16, headBytes: 4 }), [bytes]);
        assert.deepEqual(
          frameAll(() => new DetectFramer({ maxBytes: 16, headBytes: 4 }), splitAt(bytes, cuts)),
          whole,
        );
      }),
    );
  });
});

/**
 * @module test/pipeline
 * The run in-process: sources and sinks in memory, a pinned receive clock, so outputs can be
 * compared byte for byte. The worker path is checked both with real threads and with its tasks
 * run inline, which lets fast-check try many cuttings of the input cheaply.
 */
import assert from "node:assert/strict";
import { Readable } from "node:stream";
import { describe, it } from "node:test";
import fc from "fast-check";
import type { ErrorCode } from "../src/errors.ts";
import { IoError } from "../src/pipeline/io-error.ts";
import type { Task } from "../src/pipeline/step.ts";
import { runPipeline, type RunOptions } from "../src/pipeline/run.ts";
import { createStats, formatSummary, MAX_TRACKED_KEYS, countKey } from "../src/pipeline/stats.ts";
import { inlineRunner, WorkerPool } from "../src/pipeline/workers.ts";
import { NdjsonSink } from "../src/delivery/ndjson.ts";
import { NO_SINK_METRICS } from "../src/delivery/metrics.ts";
import type { Sink } from "../src/sinks/index.ts";
import { pino } from "pino";
import { sources, type Source } from "../src/sources/index.ts";
import { samplesOf, splitAt } from "./helpers.ts";

const RECEIVED_AT = "2024-03-11T10:00:00.000Z";
const RECORDER_LINES = samplesOf("recorder");

/** A source over fixed chunks. */
function memorySource(name: string, chunks: readonly (string | Uint8Array)[]): Source {
  return {
    name,
    async *open() {
      for (const chunk of chunks) yield typeof chunk === "string" ? Buffer.from(chunk) : chunk;
    },
  };
}

/** The `ndjson` sink over a stream of the test's. */
function ndjson(target: Sink): NdjsonSink {
  return NdjsonSink.over(target.name, target, {
    logger: pino({ level: "silent" }),
    metrics: NO_SINK_METRICS,
  });
}

/** A stream that keeps what it is given, as text. */
function memorySink(name = "memory"): Sink & { text(): string; writes: number } {
  const parts: string[] = [];
  return {
    name,
    writes: 0,
    write(text) {
      this.writes++;
      parts.push(typeof text === "string" ? text : Buffer.from(text).toString("utf8"));
      return undefined;
    },
    close: async () => {},
    text: () => parts.join(""),
  };
}

interface Outcome {
  output: string;
  dead: string;
  docs: Record<string, unknown>[];
  deadLetters: DeadLetter[];
  stats: Awaited<ReturnType<typeof runPipeline>>;
}

interface DeadLetter {
  event: { kind: string; original: string };
  error: { code: ErrorCode; message: string };
  tanium: { input: { name: string; line: number } };
}

async function run(
  inputs: readonly Source[],
  options: Partial<Omit<RunOptions, "inputs" | "output" | "deadLetters">> = {},
): Promise<Outcome> {
  const output = memorySink("out");
  const dead = memorySink("dead");
  const stats = await runPipeline({
    inputs,
    output: ndjson(output),
    deadLetters: ndjson(dead),
    now: () => RECEIVED_AT,
    ...options,
  });
  const parse = (text: string) =>
    text
      .split("\n")
      .filter((l) => l !== "")
      .map((l) => JSON.parse(l) as unknown);
  return {
    output: output.text(),
    dead: dead.text(),
    docs: parse(output.text()) as Record<string, unknown>[],
    deadLetters: parse(dead.text()) as DeadLetter[],
    stats,
  };
}

/** The worker path with its tasks run in this thread, in small pieces to stress the cutting. */
function inline(chunkBytes: number): Partial<RunOptions> {
  return { runner: inlineRunner, chunkBytes };
}

const original = (doc: Record<string, unknown>) => (doc.event as { original?: string }).original;

describe("runPipeline", () => {
  it("turns every non-blank line into one document or one dead letter, in input order", async () => {
    const lines = [RECORDER_LINES[0]!, "not json", RECORDER_LINES[1]!, "{}", RECORDER_LINES[2]!];
    const { docs, deadLetters, stats } = await run([memorySource("a.ndjson", [lines.join("\n") + "\n"])]);
    assert.deepEqual(docs.map(original), [lines[0], lines[2], lines[4]]);
    assert.deepEqual(
      deadLetters.map((d) => d.event.original),
      ["not json", "{}"],
    );
    assert.equal(stats.eventsIn, 5);
    assert.equal(stats.documentsOut, 3);
    assert.deepEqual([...stats.deadLetters.keys()].sort(), ["ERR_JSON_SYNTAX", "ERR_NO_EVENT"]);
  });

  it("names the input and the line of each dead letter, counting blank lines and CRLF ends", async () => {
    const text = `${RECORDER_LINES[0]}\r\n\r\n   \r\ngarbage one\r\n${RECORDER_LINES[1]}\r\n\ngarbage two`;
    for (const options of [{}, inline(16)]) {
      const { docs, deadLetters } = await run([memorySource("logs/x.ndjson", [text])], options);
      assert.equal(docs.length, 2);
      assert.deepEqual(
        deadLetters.map((d) => [d.tanium.input.name, d.tanium.input.line, d.event.original, d.error.code]),
        [
          ["logs/x.ndjson", 4, "garbage one", "ERR_JSON_SYNTAX"],
          ["logs/x.ndjson", 7, "garbage two", "ERR_JSON_SYNTAX"],
        ],
      );
    }
  });

  it("numbers lines per input when there are several", async () => {
    const { deadLetters } = await run([
      memorySource("a", [`${RECORDER_LINES[0]}\nbad a\n`]),
      memorySource("-", ["bad stdin\n"]),
    ]);
    assert.deepEqual(
      deadLetters.map((d) => [d.tanium.input.name, d.tanium.input.line]),
      [
        ["a", 2],
        ["-", 1],
      ],
    );
  });

  it("reads a pretty-printed JSON array as one event per element", async () => {
    const events = RECORDER_LINES.slice(0, 3).map((l) => JSON.parse(l) as unknown);
    const text = JSON.stringify(events, null, 2);
    for (const options of [{}, inline(64)]) {
      const { docs, deadLetters, stats } = await run([memorySource("array.json", [text])], options);
      assert.equal(docs.length, 3);
      assert.equal(deadLetters.length, 0);
      assert.equal(stats.eventsIn, 3);
    }
  });

  it("sends a line over the byte limit to the dead letters as ERR_LINE_TOO_LONG, cut to its head", async () => {
    const long = `{"event":"file_open","fields":{"x":"${"a".repeat(5000)}"}}`;
    // Sample lines 0 and 2 are under 1000 bytes.
    const text = `${RECORDER_LINES[0]}\n${long}\n${RECORDER_LINES[2]}\n`;
    // Pieces smaller than the line make the worker path stream it through the main thread.
    for (const options of [{}, inline(256), inline(1 << 20)]) {
      const chunks = [text.slice(0, 700), text.slice(700, 3000), text.slice(3000)];
      const { docs, deadLetters } = await run([memorySource("big", chunks)], { maxBytes: 1000, ...options });
      assert.equal(docs.length, 2);
      assert.equal(deadLetters.length, 1);
      const [letter] = deadLetters;
      assert.equal(letter!.error.code, "ERR_LINE_TOO_LONG");
      assert.equal(letter!.tanium.input.line, 2);
      const expected = `${long.length} bytes over the 1000 byte limit; the original is cut to its first 1000 bytes.`;
      assert.ok(letter!.error.message.endsWith(expected), letter!.error.message);
      assert.equal(letter!.event.original, long.slice(0, 1000));
    }
  });

  it("leaves event.original out when asked", async () => {
    const { docs } = await run([memorySource("a", [RECORDER_LINES[0]!])], { original: false });
    assert.equal(docs.length, 1);
    assert.equal(original(docs[0]!), undefined);
  });

  it("counts unmapped keys by name and dead letters by code", async () => {
    const event = JSON.parse(RECORDER_LINES[0]!) as { fields: Record<string, unknown> };
    event.fields.zz_not_a_tanium_field = 1;
    const line = JSON.stringify(event);
    const { stats } = await run([memorySource("a", [`${line}\n${line}\n[1]\nnope\n`])]);
    assert.equal(stats.unmapped.get("zz_not_a_tanium_field"), 2);
    assert.equal(stats.deadLetters.get("ERR_JSON_SYNTAX"), 1);
    assert.equal(stats.deadLetters.get("ERR_NOT_AN_OBJECT"), 1);
  });

  it("waits for a sink that pushes back before writing more", async () => {
    let pending = 0;
    let most = 0;
    const slow: Sink = {
      name: "slow",
      write() {
        pending++;
        most = Math.max(most, pending);
        return new Promise((resolve) =>
          setTimeout(() => {
            pending--;
            resolve();
          }, 1),
        );
      },
      close: async () => {},
    };
    const chunks = RECORDER_LINES.map((l) => l + "\n");
    await runPipeline({
      inputs: [memorySource("a", chunks)],
      output: ndjson(slow),
      deadLetters: ndjson(memorySink()),
    });
    assert.equal(most, 1);
  });

  it("fails with the input's name when reading it fails", async () => {
    const broken = Readable.from(
      (async function* () {
        yield Buffer.from(RECORDER_LINES[0]! + "\n");
        throw Object.assign(new Error("disk on fire"), { code: "EIO" });
      })(),
    );
    const input = await sources.stdin({ stream: broken });
    await assert.rejects(run([input]), (err: unknown) => {
      assert.ok(err instanceof IoError);
      assert.match(err.message, /cannot read stdin/);
      return true;
    });
  });

  it("refuses a missing input file before the run starts", async () => {
    await assert.rejects(
      sources.file({ path: "no/such/file.ndjson" }),
      /cannot read no\/such\/file\.ndjson: no such file/,
    );
  });
});

describe("the worker threads", () => {
  it("write the same bytes as the main thread on a few thousand mixed lines", async () => {
    const lines: string[] = [];
    for (let i = 0; i < 3000; i++) {
      if (i % 37 === 0) lines.push(`garbage ${i}`);
      else if (i % 53 === 0) lines.push("");
      else lines.push(RECORDER_LINES[i % RECORDER_LINES.length]!);
    }
    const text = lines.join("\n") + "\n";
    const chunks = [text.slice(0, 100_000), text.slice(100_000, 1_000_000), text.slice(1_000_000)];
    const inThread = await run([memorySource("mixed", chunks)]);
    const threaded = await run([memorySource("mixed", chunks)], { workers: 2, chunkBytes: 64 * 1024 });
    assert.ok(inThread.stats.documentsOut > 2800);
    assert.equal(threaded.output, inThread.output);
    assert.equal(threaded.dead, inThread.dead);
    assert.deepEqual(threaded.stats, inThread.stats);
  });

  it("end the run with an error, not a hang, when a task fails in a worker", async () => {
    const pool = new WorkerPool(1, { original: true, maxBytes: 1024 });
    try {
      const broken = { kind: "frames", frames: null, receivedAt: RECEIVED_AT } as unknown as Task;
      await assert.rejects(pool.run(broken), /a worker thread failed/);
      await assert.rejects(
        pool.run({ kind: "frames", frames: [], receivedAt: RECEIVED_AT }),
        /a worker thread failed/,
      );
    } finally {
      await pool.close();
    }
  });
});

describe("the summary line", () => {
  it("lists counts, dead letters by code and unmapped keys, most frequent first", () => {
    const stats = createStats();
    stats.eventsIn = 12;
    stats.documentsOut = 11;
    stats.deadLetters.set("ERR_JSON_SYNTAX", 1);
    countKey(stats.unmapped, "permission");
    countKey(stats.unmapped, "foo", 3);
    assert.equal(
      formatSummary(stats),
      "tanium-ecs: 12 events in, 11 documents out, 1 dead letters (ERR_JSON_SYNTAX 1); unmapped keys: foo 3, permission 1",
    );
  });

  it("stays one bounded line whatever the key names", () => {
    const stats = createStats();
    for (let i = 0; i < MAX_TRACKED_KEYS + 50; i++) countKey(stats.unmapped, `key\n${i}`);
    const line = formatSummary(stats);
    assert.ok(!line.includes("\n"));
    assert.ok(stats.unmapped.size <= MAX_TRACKED_KEYS + 1);
    assert.match(line, /and \d+ more$/);
  });
});

// ---- properties -------------------------------------------------------------------------------

/** Lines as they come: valid events, damaged ones, junk, blanks, CRLF ends. */
const lineArb = fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom(...RECORDER_LINES) },
  {
    weight: 3,
    arbitrary: fc
      .tuple(fc.constantFrom(...RECORDER_LINES), fc.nat(), fc.nat(), fc.string({ maxLength: 8 }))
      .map(([line, at, cut, junk]) => {
        const i = at % line.length;
        return cut % 3 === 0 ? line.slice(0, i) : line.slice(0, i) + junk + line.slice(i + (cut % 5));
      }),
  },
  { weight: 1, arbitrary: fc.string({ maxLength: 40 }).map((s) => s.replace(/\n/g, " ")) },
  { weight: 1, arbitrary: fc.constantFrom("", "  ", "\t", "\r") },
  {
    weight: 1,
    arbitrary: fc.constantFrom('{"message":"x"}', "<14>1 - - - - - {", "[1,2]", "null", "\ufeff{}"),
  },
);

/** Raw bytes with a damaged tail: any byte, including invalid UTF-8 and stray CR/LF. */
const bytesArb = fc.uint8Array({ maxLength: 300 });

/** Lines holding more than spaces, tabs and a CR: what the framer makes frames of. */
function nonBlankLines(bytes: Uint8Array): number {
  return Buffer.from(bytes)
    .toString("latin1")
    .split("\n")
    .filter((l) => /[^ \t\r]/.test(l)).length;
}

describe("properties", () => {
  const inputArb = fc.record({
    lines: fc.array(lineArb, { maxLength: 30 }),
    tail: bytesArb,
    crlf: fc.boolean(),
    cuts: fc.array(fc.nat(), { maxLength: 8 }),
    maxBytes: fc.constantFrom(64, 300, 2000, 1 << 20),
    pieceBytes: fc.constantFrom(1, 50, 400, 1 << 20),
  });

  /** A valid first line keeps the input newline-delimited (a leading `[` would make it an array). */
  function bytesOf(lines: readonly string[], tail: Uint8Array, crlf: boolean): Uint8Array {
    const text = [RECORDER_LINES[0]!, ...lines].join(crlf ? "\r\n" : "\n") + "\n";
    return Buffer.concat([Buffer.from(text), tail]);
  }

  it("never throws, writes only valid JSON lines and accounts for every non-blank line", async () => {
    await fc.assert(
      fc.asyncProperty(inputArb, async ({ lines, tail, crlf, cuts, maxBytes }) => {
        const bytes = bytesOf(lines, tail, crlf);
        const { output, dead, stats } = await run([memorySource("p", splitAt(bytes, cuts))], { maxBytes });
        for (const line of (output + dead).split("\n").filter((l) => l !== "")) JSON.parse(line);
        const deadCount = dead.split("\n").filter((l) => l !== "").length;
        assert.equal(output.split("\n").filter((l) => l !== "").length, stats.documentsOut);
        assert.equal(stats.documentsOut + deadCount, nonBlankLines(bytes));
        assert.equal(stats.eventsIn, nonBlankLines(bytes));
      }),
      { numRuns: 150 },
    );
  });

  it("gives the same bytes on the worker path as in the main thread, however the input is cut", async () => {
    await fc.assert(
      fc.asyncProperty(
        inputArb,
        fc.boolean(),
        async ({ lines, tail, crlf, cuts, maxBytes, pieceBytes }, asArray) => {
          let bytes = bytesOf(lines, tail, crlf);
          if (asArray)
            bytes = Buffer.from(`\ufeff \n[${lines.filter((l) => l.startsWith("{")).join(",\n")}]`);
          const chunks = splitAt(bytes, cuts);
          const inThread = await run([memorySource("p", chunks)], { maxBytes });
          const pieces = await run([memorySource("p", chunks)], { maxBytes, ...inline(pieceBytes) });
          assert.equal(pieces.output, inThread.output);
          assert.equal(pieces.dead, inThread.dead);
          assert.deepEqual(pieces.stats, inThread.stats);
        },
      ),
      { numRuns: 200 },
    );
  });
});

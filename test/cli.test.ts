/**
 * @module test/cli
 * `tanium-ecs normalize` as a user runs it: the real command, spawned from the sources, with
 * files, stdin, exit statuses and the summary line.
 */
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PassThrough } from "node:stream";
import { after, describe, it } from "node:test";
import { createProgress } from "../src/cli/progress.ts";
import type { Sink } from "../src/sinks/index.ts";
import { REPO_ROOT, runNode, samplesOf, type CliResult } from "./helpers.ts";

/** Recorder events, each with a `timestamp`, so `@timestamp` never falls back to the clock. */
const RECORDER_LINES = samplesOf("recorder");
const [A, B, C] = RECORDER_LINES as [string, string, string];

const dir = mkdtempSync(join(tmpdir(), "tanium-ecs-cli-"));
after(() => rmSync(dir, { recursive: true, force: true }));

function file(name: string, content: string): string {
  const path = join(dir, name);
  writeFileSync(path, content);
  return path;
}

/** The command from source (no build needed), stdin given `input`. */
function normalize(args: readonly string[], input = ""): Promise<CliResult> {
  return runNode(["--import", "tsx", "src/cli/main.ts", "normalize", ...args], { input });
}

type Doc = {
  "@timestamp": string;
  event: { kind: string; original?: string; ingested?: string };
  error?: { code: string; message: string };
  tanium?: { input?: { name: string; line: number } };
};

/** The JSON documents of an NDJSON text; a line that is not JSON fails the test. */
function docs(text: string): Doc[] {
  return text
    .split("\n")
    .filter((l) => l !== "")
    .map((l) => JSON.parse(l) as Doc);
}

/**
 * The dead letters on stderr, their default place. stderr is not a terminal here, so it holds
 * nothing else: every line must parse as a document (no summary line).
 */
function deadLettersOnStderr(stderr: string): Doc[] {
  return docs(stderr);
}

/** The summary line, printed when the dead letters go to a file (`--dead-letter`). */
function summary(stderr: string): string {
  return stderr.trimEnd().split("\n").at(-1) ?? "";
}

describe("tanium-ecs normalize", () => {
  it("reads stdin and writes one ECS document per event to stdout", async () => {
    const { code, stdout, stderr } = await normalize([], `${A}\n${B}\n`);
    assert.equal(code, 0);
    assert.deepEqual(
      docs(stdout).map((d) => d.event.original),
      [A, B],
    );
    // stderr is the dead-letter stream (none here) and not a terminal: no summary to spoil it.
    assert.equal(stderr, "");
  });

  it("reads several files and stdin (-) in the order given", async () => {
    const first = file("first.ndjson", `${A}\n`);
    const second = file("second.ndjson", `${C}\n`);
    const { code, stdout } = await normalize([first, "-", second], `${B}\n`);
    assert.equal(code, 0);
    assert.deepEqual(
      docs(stdout).map((d) => d.event.original),
      [A, B, C],
    );
  });

  it("writes documents and dead letters to the files given", async () => {
    const input = file("mixed.ndjson", `${A}\nthis is not json\n${B}\n`);
    const out = join(dir, "out.ndjson");
    const dead = join(dir, "dead.ndjson");
    const { code, stdout, stderr } = await normalize([input, "-o", out, "--dead-letter", dead]);
    assert.equal(code, 3);
    assert.equal(stdout, "");
    assert.equal(docs(readFileSync(out, "utf8")).length, 2);
    const [letter, ...more] = docs(readFileSync(dead, "utf8"));
    assert.equal(more.length, 0);
    assert.equal(letter!.event.kind, "pipeline_error");
    assert.equal(letter!.error!.code, "ERR_JSON_SYNTAX");
    assert.equal(letter!.event.original, "this is not json");
    assert.deepEqual(letter!.tanium!.input, { name: input, line: 2 });
    assert.equal(stderr, "tanium-ecs: 3 events in, 2 documents out, 1 dead letters (ERR_JSON_SYNTAX 1)\n");
  });

  it("accepts CRLF line ends and skips blank lines", async () => {
    const dead = join(dir, "crlf-dead.ndjson");
    const { code, stdout, stderr } = await normalize(
      ["--dead-letter", dead],
      `\r\n${A}\r\n\r\n  \r\n${B}\r\n\n`,
    );
    assert.equal(code, 0);
    assert.deepEqual(
      docs(stdout).map((d) => d.event.original),
      [A, B],
    );
    assert.match(summary(stderr), /^tanium-ecs: 2 events in, 2 documents out, 0 dead letters$/);
  });

  it("reads a pretty-printed JSON array file, one document per element", async () => {
    const events = [A, B, C].map((l) => JSON.parse(l) as unknown);
    const input = file("array.json", JSON.stringify(events, null, 2) + "\n");
    const { code, stdout } = await normalize([input]);
    assert.equal(code, 0);
    assert.equal(docs(stdout).length, 3);
  });

  it("takes the event out of a syslog-prefixed line and out of an envelope's message", async () => {
    const syslog = `<14>1 2024-03-11T09:15:42.500Z tanium-srv-01 Tanium - - - ${A}`;
    const envelope = JSON.stringify({ message: B });
    const { code, stdout, stderr } = await normalize([], `${syslog}\n${envelope}\n`);
    assert.equal(code, 0, stderr);
    const [first, second] = docs(stdout);
    assert.equal(first!.event.kind, "event");
    assert.equal(second!.event.kind, "event");
  });

  it("sends garbage to dead letters on stderr (NDJSON only) with code, original, input and line, and exits 3", async () => {
    const { code, stdout, stderr } = await normalize([], `${A}\ngarbage\n{"no":"event"}\n\u00ff\u0000\n`);
    assert.equal(code, 3);
    assert.equal(docs(stdout).length, 1);
    const letters = deadLettersOnStderr(stderr);
    assert.deepEqual(
      letters.map((d) => [d.error!.code, d.event.original, d.tanium!.input!.name, d.tanium!.input!.line]),
      [
        ["ERR_JSON_SYNTAX", "garbage", "-", 2],
        ["ERR_NO_EVENT", '{"no":"event"}', "-", 3],
        ["ERR_JSON_SYNTAX", "\u00ff\u0000", "-", 4],
      ],
    );
  });

  it("prints the summary on stderr when the dead letters go to a file", async () => {
    const dead = join(dir, "garbage-dead.ndjson");
    const { code, stderr } = await normalize(
      ["--dead-letter", dead],
      `${A}\ngarbage\n{"no":"event"}\n\u00ff\u0000\n`,
    );
    assert.equal(code, 3);
    assert.equal(docs(readFileSync(dead, "utf8")).length, 3);
    assert.equal(
      stderr,
      "tanium-ecs: 4 events in, 1 documents out, 3 dead letters (ERR_JSON_SYNTAX 2, ERR_NO_EVENT 1)\n",
    );
  });

  it("sends a line over --max-line-bytes to the dead letters as ERR_LINE_TOO_LONG", async () => {
    const long = `{"event":"file_open","fields":{"pad":"${"x".repeat(3000)}"}}`;
    const { code, stdout, stderr } = await normalize(["--max-line-bytes", "1000"], `${long}\n${C}\n`);
    assert.equal(code, 3);
    assert.equal(docs(stdout).length, 1);
    const [letter] = deadLettersOnStderr(stderr);
    assert.equal(letter!.error!.code, "ERR_LINE_TOO_LONG");
    assert.equal(letter!.tanium!.input!.line, 1);
    assert.equal(letter!.event.original, long.slice(0, 1000));
  });

  it("leaves event.original out with --no-original", async () => {
    const { code, stdout } = await normalize(["--no-original"], `${A}\n`);
    assert.equal(code, 0);
    assert.equal(docs(stdout)[0]!.event.original, undefined);
  });

  it("counts unmapped keys in the summary line", async () => {
    const event = JSON.parse(A) as { fields: Record<string, unknown> };
    event.fields.zz_not_a_tanium_field = true;
    const dead = join(dir, "unmapped-dead.ndjson");
    const { code, stderr } = await normalize(["--dead-letter", dead], `${JSON.stringify(event)}\n`);
    assert.equal(code, 0);
    assert.match(summary(stderr), /; unmapped keys: .*\bzz_not_a_tanium_field 1\b/);
  });

  it("exits 1 with a one-line message when an input file is missing, before writing anything", async () => {
    const out = join(dir, "never.ndjson");
    const { code, stdout, stderr } = await normalize([join(dir, "missing.ndjson"), "-o", out]);
    assert.equal(code, 1);
    assert.equal(stdout, "");
    assert.equal(
      stderr,
      `tanium-ecs: cannot read ${join(dir, "missing.ndjson")}: no such file or directory (ENOENT)\n`,
    );
    assert.throws(() => readFileSync(out), /ENOENT/);
  });

  it("exits 1 when the output cannot be written", async () => {
    const { code, stderr } = await normalize(["-o", join(dir, "no", "such", "dir.ndjson")], `${A}\n`);
    assert.equal(code, 1);
    assert.match(
      stderr,
      /^tanium-ecs: cannot write to .*dir\.ndjson: no such file or directory \(ENOENT\)\n$/,
    );
  });

  it("refuses to overwrite an input with the output", async () => {
    const input = file("keep.ndjson", `${A}\n`);
    const { code, stderr } = await normalize([input, "-o", input]);
    assert.equal(code, 1);
    assert.match(stderr, /is an input; refusing to overwrite it/);
    assert.equal(readFileSync(input, "utf8"), `${A}\n`);
  });

  it("exits 1 on an unknown option or a bad number", async () => {
    for (const args of [
      ["--bogus"],
      ["--workers", "two"],
      ["--max-line-bytes", "-5"],
      ["--workers", "1.5"],
    ]) {
      const { code, stdout, stderr } = await normalize(args, `${A}\n`);
      assert.equal(code, 1, args.join(" "));
      assert.equal(stdout, "");
      assert.match(stderr, /^tanium-ecs: error: /);
    }
  });

  it("writes the same documents and dead letters with --workers 2 as with --workers 0", async () => {
    const lines: string[] = [];
    for (let i = 0; i < 4000; i++) {
      if (i % 41 === 0) lines.push(`junk line ${i}`);
      else if (i % 97 === 0) lines.push("");
      else if (i % 211 === 0) lines.push(`{"event":"file_open","fields":{"pad":"${"y".repeat(3000)}"}}`);
      else lines.push(RECORDER_LINES[i % RECORDER_LINES.length]!);
    }
    const input = file("many.ndjson", lines.join("\r\n") + "\r\n");
    const outputs: string[][] = [];
    for (const workers of ["0", "2"]) {
      const out = join(dir, `many-${workers}.ndjson`);
      const dead = join(dir, `many-dead-${workers}.ndjson`);
      const args = [
        input,
        "--workers",
        workers,
        "-o",
        out,
        "--dead-letter",
        dead,
        "--max-line-bytes",
        "2000",
      ];
      const { code, stderr } = await normalize(args);
      assert.equal(code, 3, stderr);
      // Only the receive time may differ: it stamps event.ingested, and a dead letter's @timestamp.
      const stable = (text: string, isDead: boolean) =>
        docs(text).map((d) => {
          delete d.event.ingested;
          if (isDead) d["@timestamp"] = "";
          return JSON.stringify(d);
        });
      outputs.push([
        ...stable(readFileSync(out, "utf8"), false),
        ...stable(readFileSync(dead, "utf8"), true),
        stderr,
      ]);
    }
    assert.ok(outputs[0]!.length > 3900);
    assert.deepEqual(outputs[1], outputs[0]);
  });
});

describe("the progress bar", () => {
  /** A stand-in terminal: what cli-progress needs of a TTY stream, recording what is drawn. */
  function terminal(): NodeJS.WriteStream & { drawn(): string } {
    const stream = new PassThrough() as PassThrough & { isTTY: boolean; columns: number };
    let drawn = "";
    stream.on("data", (chunk: Buffer) => (drawn += chunk.toString("utf8")));
    stream.isTTY = true;
    stream.columns = 100;
    return Object.assign(stream as unknown as NodeJS.WriteStream, { drawn: () => drawn });
  }

  it("counts bytes against the total, writes output above itself and clears itself on stop", async () => {
    const tty = terminal();
    const written: string[] = [];
    const sink: Sink = {
      name: "stderr",
      write: (text) => {
        written.push(String(text));
        return undefined;
      },
      close: async () => {},
    };
    const progress = createProgress({ total: 2048, stream: tty });
    const above = progress.beneath(sink);
    progress.advance(1024);
    above.write("a dead letter\n");
    progress.stop();
    progress.stop();
    await new Promise((resolve) => setImmediate(resolve));
    assert.deepEqual(written, ["a dead letter\n"]);
    const drawn = tty.drawn();
    assert.match(drawn, /tanium-ecs .* 0% \| 0 B of 2\.0 KiB/);
    assert.match(drawn, /50% \| 1\.0 KiB of 2\.0 KiB/);
    // Stopping leaves the cursor at the start of an empty line, ready for the summary.
    assert.ok(drawn.endsWith("\x1b[2K") || drawn.endsWith("\x1b[0K"), JSON.stringify(drawn.slice(-20)));
  });
});

describe("a reader that goes away", () => {
  it("ends quietly with status 0 when stdout is closed early, as `| head` does", async () => {
    const big = file("many.ndjson", `${RECORDER_LINES.join("\n")}\n`.repeat(400));
    const result = await new Promise<{ code: number | null; stderr: string }>((done, reject) => {
      const child = spawn(process.execPath, ["--import", "tsx", "src/cli/main.ts", "normalize", big], {
        cwd: REPO_ROOT,
        stdio: ["ignore", "pipe", "pipe"],
      });
      let stderr = "";
      child.stderr.setEncoding("utf8").on("data", (s: string) => (stderr += s));
      child.stdout.once("data", () => child.stdout.destroy());
      child.on("error", reject);
      child.on("close", (code) => done({ code, stderr }));
    });
    assert.equal(result.code, 0);
    assert.doesNotMatch(result.stderr, /broken pipe|EPIPE/);
  });
});

/**
 * @module test/cli-user
 * What a user meets at the command line, beyond each command's own features: a closed stdout
 * (`| head`) ends every command quietly with status 0, `export --out -` writes to stdout, an
 * explicit `--data` is the folder read, Ctrl-C during `normalize` leaves whole output and a
 * summary, and query tables align by display width.
 */
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import type { Command } from "commander";
import stringWidth from "string-width";
import { exportCommand } from "../src/cli/export-command.ts";
import { formatTable, queryCommand } from "../src/cli/query-command.ts";
import { replayCommand } from "../src/cli/replay-command.ts";
import { dataGivenAlone } from "../src/cli/stdout.ts";
import { stores, storedDoc } from "../src/store/index.ts";
import { REPO_ROOT, runNode, samplesOf } from "./helpers.ts";
import { sampleDoc } from "./store-helpers.ts";

const BIN = join(REPO_ROOT, "bin", "tanium-ecs.js");
const root = mkdtempSync(join(tmpdir(), "tanium-ecs-user-"));
const data = join(root, "data");
const STORED = 600;
after(() => rmSync(root, { recursive: true, force: true }));

before(async () => {
  const store = await stores.duckdb({ dataDir: data });
  const at = new Date(Date.UTC(2026, 0, 1)).getTime();
  await store.write({
    docs: Array.from({ length: STORED }, (_, i) =>
      storedDoc(sampleDoc(`id-${i}`, `host-${i % 7}`, "cmd.exe", new Date(at + i * 1000).toISOString())),
    ),
    deadLetters: [],
  });
  await store.close();
});

/** The installed command, its stdout read until the first chunk and then closed, as `| head -1` does. */
function headOne(args: readonly string[]): Promise<{ code: number | null; first: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], {
      cwd: root,
      stdio: ["ignore", "pipe", "pipe"],
      env: { ...process.env, TANIUM_ECS_TOKEN: "" },
    });
    let first = "";
    let stderr = "";
    child.stderr.setEncoding("utf8").on("data", (s: string) => (stderr += s));
    child.stdout.once("data", (chunk: Buffer) => {
      first = chunk.toString("utf8");
      child.stdout.destroy();
    });
    child.on("error", reject);
    child.on("close", (code) => resolve({ code, first, stderr }));
  });
}

describe("a reader that goes away (`| head -1`)", () => {
  it("query ends quietly with status 0", async () => {
    // 5000 wide rows: far more than a pipe buffer, so the writes after the close fail with EPIPE.
    const sql = "SELECT range AS n, repeat('x', 200) AS pad FROM range(5000)";
    const r = await headOne(["query", "--data", data, sql]);
    assert.match(r.first, /^\{"n":0,"pad":"x+"\}\n/);
    assert.equal(r.stderr, "");
    assert.equal(r.code, 0);
  });

  it("export --out - ends quietly with status 0", async () => {
    const r = await headOne(["export", "--data", data, "--out", "-"]);
    assert.match(r.first, /^\{"@timestamp":"2026-01-01T00:00:00.000Z"/);
    assert.doesNotMatch(r.stderr, /EPIPE|Error|at /);
    assert.equal(r.code, 0, r.stderr);
  });
});

describe("export --out -", () => {
  it("writes the documents to stdout, not to a file named -", async () => {
    const r = await runNode([BIN, "export", "--data", data, "--out", "-"], { cwd: root });
    assert.equal(r.code, 0, r.stderr);
    const lines = r.stdout.split("\n").filter((l) => l !== "");
    assert.equal(lines.length, STORED);
    assert.equal((JSON.parse(lines[0] as string) as { event: { id: string } }).event.id, "id-0");
    assert.equal(r.stderr, `exported ${STORED} events to stdout (ndjson)\n`);
    assert.equal(existsSync(join(root, "-")), false);
  });
});

describe("an explicit --data", () => {
  /** The real command's options parsed from `args`; the action only reports the decision. */
  function decides(make: () => Command, args: string[]): boolean {
    let direct: boolean | undefined;
    const command = make()
      .exitOverride()
      .action((...params: unknown[]) => {
        direct = dataGivenAlone(params.at(-1) as Command);
      });
    command.parse(args, { from: "user" });
    assert.notEqual(direct, undefined);
    return direct === true;
  }

  it("is read directly, without asking the default server; with --server too, the server comes first", () => {
    for (const make of [queryCommand, exportCommand, replayCommand]) {
      const extra = make === exportCommand ? ["--out", "x"] : [];
      assert.equal(decides(make, ["--data", data, ...extra]), true);
      assert.equal(decides(make, [...extra]), false);
      assert.equal(decides(make, ["--data", data, "--server", "http://127.0.0.1:1", ...extra]), false);
    }
  });

  it("query --data DIR answers from that folder", async () => {
    const r = await runNode([BIN, "query", "--data", data, "SELECT count(*) AS n FROM events"]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, `{"n":${STORED}}\n`);
  });

  it("replay --data DIR replays that folder", async () => {
    const r = await runNode([BIN, "replay", "--data", data]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^replayed 0, still failing 0/);
  });
});

describe("Ctrl-C during normalize", () => {
  it("writes whole lines, prints the summary and exits 130", async () => {
    // Far more than the command normalizes before the signal lands, even on a fast machine.
    const recorder = samplesOf("recorder");
    const input = join(root, "big.ndjson");
    writeFileSync(input, `${recorder.join("\n")}\n`.repeat(Math.ceil(60_000 / recorder.length)));
    const dead = join(root, "big-dead.ndjson");
    const result = await new Promise<{ code: number | null; stdout: string; stderr: string }>(
      (resolve, reject) => {
        const child = spawn(process.execPath, [BIN, "normalize", input, "--dead-letter", dead], {
          cwd: root,
          stdio: ["ignore", "pipe", "pipe"],
        });
        let stdout = "";
        let stderr = "";
        child.stdout.setEncoding("utf8").on("data", (s: string) => {
          if (stdout === "") child.kill("SIGINT");
          stdout += s;
        });
        child.stderr.setEncoding("utf8").on("data", (s: string) => (stderr += s));
        child.on("error", reject);
        child.on("close", (code) => resolve({ code, stdout, stderr }));
      },
    );
    assert.equal(result.code, 130, result.stderr);
    assert.ok(result.stdout.endsWith("\n"), "the output ends on a whole line");
    const lines = result.stdout.split("\n").slice(0, -1);
    for (const line of lines) JSON.parse(line);
    const total = readFileSync(input, "utf8").split("\n").length - 1;
    assert.ok(lines.length > 0 && lines.length < total, `${lines.length} of ${total} lines`);
    const summary =
      /^tanium-ecs: (\d+) events in, (\d+) documents out, (\d+) dead letters.* \(interrupted\)\n$/.exec(
        result.stderr,
      );
    assert.ok(summary, result.stderr);
    assert.equal(Number(summary[2]), lines.length);
    // Reading stopped at a line's end: no line was cut into a dead letter.
    assert.equal(Number(summary[3]), 0);
    assert.equal(readFileSync(dead, "utf8"), "");
  });
});

describe("query tables", () => {
  it("align by display width: CJK and emoji take two columns", () => {
    const text = formatTable({
      columns: ["user.name", "n"],
      rows: [
        ["山田太郎", 1],
        ["bob", 22],
        ["👩🏽‍💻 dev", 3],
      ],
    });
    assert.equal(
      text,
      [
        "user.name   n",
        "---------  --",
        "山田太郎    1",
        "bob        22",
        "👩🏽‍💻 dev      3",
        "(3 rows)",
        "",
      ].join("\n"),
    );
    const widths = text
      .split("\n")
      .slice(0, 5)
      .map((line) => stringWidth(line));
    assert.deepEqual(widths, [13, 13, 13, 13, 13]);
  });

  it("cut a long cell at 80 columns, between characters", () => {
    const text = formatTable({ columns: ["c"], rows: [["漢".repeat(100)]] });
    const cell = text.split("\n")[2] as string;
    assert.equal(cell, `${"漢".repeat(39)}…`);
    assert.equal(stringWidth(cell), 79);
  });
});

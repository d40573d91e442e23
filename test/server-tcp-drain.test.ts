import { after, describe, it } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { rmSync } from "node:fs";
import { connect, type Socket } from "node:net";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { stores } from "../src/store/index.ts";
import { REPO_ROOT } from "./helpers.ts";
import { eventLine, tempDir } from "./server-helpers.ts";

const BIN = join(REPO_ROOT, "bin", "tanium-ecs.js");
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

const dirs: string[] = [];
after(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

/**
 * One sender streaming numbered lines in bursts, each burst ending in the middle of a line (its
 * rest opens the next burst), so the server always holds a partial line. `handed` counts the
 * whole lines the kernel has taken (their write callback ran).
 */
class Sender {
  readonly socket: Socket;
  readonly tag: string;
  handed = 0;
  #written = 0;
  #stopped = false;
  readonly done: Promise<void>;

  constructor(port: number, tag: string) {
    this.tag = tag;
    this.socket = connect({ host: "127.0.0.1", port });
    this.socket.on("error", () => {});
    this.socket.once("close", () => (this.#stopped = true));
    this.done = this.#run();
  }

  async #run(): Promise<void> {
    await new Promise<void>((resolve) => this.socket.once("connect", () => resolve()));
    const burst = 50;
    let carry = "";
    // Bounded: at most 300 bursts (15,000 lines), about 1,000 lines a second: a load the server
    // keeps up with on a busy machine, so the stop's time is the drain's, not a backlog's.
    for (let b = 0; b < 300 && !this.#stopped; b++) {
      // Lines #written .. #written+burst-1 whole, then the first half of the next one.
      const lines: string[] = [];
      for (let i = 0; i < burst; i++) lines.push(eventLine(this.#written + i, this.tag));
      const next = `${eventLine(this.#written + burst, this.tag)}\n`;
      const half = next.slice(0, next.length >> 1);
      const whole = this.#written + burst;
      this.socket.write(`${carry}${lines.join("\n")}\n${half}`, () => {
        if (this.handed < whole) this.handed = whole;
      });
      carry = next.slice(half.length);
      // The next burst opens with the rest of that line.
      this.#written += burst + 1;
      await sleep(50);
    }
    this.socket.destroy();
  }
}

describe("SIGTERM drains TCP", () => {
  it("stores every whole line the server read, makes no dead letter of cut lines, and exits 0 in time", async () => {
    const dir = tempDir();
    dirs.push(dir);
    const drainSeconds = 4;
    const child = spawn(
      process.execPath,
      [
        BIN,
        "serve",
        "--data",
        dir,
        "--http",
        "off",
        "--tcp",
        "127.0.0.1:0",
        "--udp",
        "off",
        "--drain-timeout",
        String(drainSeconds),
      ],
      { cwd: REPO_ROOT, env: { ...process.env, TANIUM_ECS_TOKEN: "" }, stdio: ["ignore", "pipe", "pipe"] },
    );
    let stderr = "";
    child.stderr.setEncoding("utf8").on("data", (d: string) => (stderr += d));
    const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
    const logs: Record<string, unknown>[] = [];
    const port = await new Promise<number>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no listening line; stderr: ${stderr}`)), 15_000);
      createInterface({ input: child.stdout }).on("line", (line) => {
        const entry = JSON.parse(line) as Record<string, unknown>;
        logs.push(entry);
        if (entry.msg === "listening" && entry.input === "tcp" && typeof entry.port === "number") {
          clearTimeout(timer);
          resolve(entry.port);
        }
      });
      void exited.then((code) => reject(new Error(`exited ${code} before listening: ${stderr}`)));
    });

    const senders = ["d0", "d1", "d2", "d3"].map((tag) => new Sender(port, tag));
    await sleep(1500);
    const handedAtSignal = senders.map((s) => s.handed);
    const signalled = Date.now();
    child.kill("SIGTERM");
    const code = await exited;
    const stopMs = Date.now() - signalled;
    await Promise.all(senders.map((s) => s.done));
    assert.equal(code, 0, stderr);
    // The whole stop fits in the drain deadline (plus the process's own start of exit).
    assert.ok(stopMs < drainSeconds * 1000 + 1000, `stopped in ${stopMs} ms`);

    const stopped = logs.find((l) => l.msg === "TCP input stopped");
    assert.ok(stopped !== undefined, "the TCP input logged its stop");
    const store = await stores.duckdb({ dataDir: dir, readOnly: true });
    try {
      const rows = await store.query(
        `SELECT "host.name", count(*), count(DISTINCT "file.path"),
                max(CAST(regexp_extract("file.path", 'file-(\\d+)', 1) AS INTEGER))
         FROM events GROUP BY 1 ORDER BY 1`,
      );
      let stored = 0;
      for (const [i, sender] of senders.entries()) {
        const row = rows.rows.find((r) => r[0] === `host-${sender.tag}`);
        assert.ok(row !== undefined, `${sender.tag}: some events stored`);
        const [, n, distinct, max] = row.map(Number) as [number, number, number, number];
        stored += n;
        // What a connection gave is a prefix of its stream: nothing in the middle is missing.
        assert.equal(distinct, n, `${sender.tag}: each event once`);
        assert.equal(max, n - 1, `${sender.tag}: lines 0..${n - 1}, no gap`);
        // What the kernel had taken before the signal was read and stored.
        assert.ok(
          n >= handedAtSignal[i]!,
          `${sender.tag}: ${n} stored, ${handedAtSignal[i]} sent before SIGTERM`,
        );
      }
      // Every whole line the server read is stored; the half lines it cut are counted, not stored.
      assert.equal(stopped.frames_read, stored);
      assert.equal(stopped.lost, 0);
      assert.ok(Number(stopped.partial_frames_cut) >= 1, "a half line was cut off");
      const dead = await store.query("SELECT count(*) FROM dead_letters");
      assert.deepEqual(dead.rows, [[0]]);
    } finally {
      await store.close();
    }
  });
});

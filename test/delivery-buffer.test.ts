import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { after, test } from "node:test";
import { bufferedSink, type BufferOptions, type DeadLetterRow } from "../src/delivery/buffer/buffer.ts";
import type { OutEvent } from "../src/delivery/event.ts";
import type { SinkMetrics } from "../src/delivery/metrics.ts";
import {
  DELIVERED,
  DUPLICATE,
  rejected,
  SinkError,
  type EventSink,
  type Settlement,
  type SinkHealth,
} from "../src/delivery/sink.ts";
import { testEvent } from "./fixtures/buffer-child.ts";

const root = mkdtempSync(join(tmpdir(), "tanium-ecs-buffer-test-"));
after(() => rmSync(root, { recursive: true, force: true }));
let dirs = 0;
const newDir = (): string => join(root, `b${dirs++}`);

/**
 * The inner sink's protocol, switchable down and up: while down, `deliver` fails as a sink past
 * its retry deadline does; up, it stores each event once (a second copy is a duplicate) and
 * refuses those `refuse` names.
 */
class SwitchSink implements EventSink {
  readonly name = "es";
  readonly kind = "test";
  up = false;
  readonly received: string[] = [];
  readonly stored = new Set<string>();
  refuse: (event: OutEvent) => string | undefined = () => undefined;
  async start(): Promise<void> {}
  async deliver(events: readonly OutEvent[]): Promise<Settlement[]> {
    await new Promise((resolve) => setTimeout(resolve, 2));
    if (!this.up) throw new SinkError("ERR_SINK_DOWN", "connect ECONNREFUSED 127.0.0.1:9200");
    return events.map((e) => {
      this.received.push(e.id);
      const reason = this.refuse(e);
      if (reason !== undefined) return rejected(reason);
      if (this.stored.has(e.id)) return DUPLICATE;
      this.stored.add(e.id);
      return DELIVERED;
    });
  }
  health() {
    return this.up ? { ok: true } : { ok: false, failingSince: 1, lastError: "connect ECONNREFUSED" };
  }
  async close(): Promise<void> {}
}

const FAST = { baseMs: 5, capMs: 40 };

function buffer(inner: EventSink, options: Partial<BufferOptions> = {}) {
  return bufferedSink(inner, { dir: newDir(), deadLetters: async () => {}, backoff: FAST, ...options });
}

function events(first: number, count: number): OutEvent[] {
  return Array.from({ length: count }, (_, i) => testEvent(first + i));
}

async function until(what: string, check: () => boolean, ms = 20_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

test("5,000 events given while the sink is down are acknowledged, then all reach it in order once it is up", async () => {
  const inner = new SwitchSink();
  const sink = buffer(inner);
  await sink.start();
  for (let first = 0; first < 5000; first += 500) {
    const settled = await sink.deliver(events(first, 500));
    assert.deepEqual(new Set(settled.map((s) => s.status)), new Set(["delivered"]));
  }
  await new Promise((resolve) => setTimeout(resolve, 100));
  assert.equal(inner.received.length, 0);
  assert.equal(sink.health().ok, false);
  inner.up = true;
  await until("5000 events stored", () => inner.stored.size === 5000);
  assert.deepEqual(
    inner.received,
    events(0, 5000).map((e) => e.id),
  );
  await until("health back", () => sink.health().ok);
  await sink.close();
});

test("kill -9 mid-load: every batch the buffer acknowledged is there after a restart and gets delivered", async () => {
  const dir = newDir();
  const child = spawn(process.execPath, ["--import", "tsx", "test/fixtures/buffer-child.ts", dir, "100"], {
    stdio: ["ignore", "pipe", "inherit"],
  });
  const acked: number[] = [];
  const lines = createInterface({ input: child.stdout });
  const exited = new Promise((resolve) => child.once("exit", resolve));
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error("the child acknowledged too little")), 60_000);
    lines.on("line", (line) => {
      const [word, , last] = line.split(" ");
      if (word === "ack") acked.push(Number(last));
      if (acked.length === 20) {
        child.kill("SIGKILL");
        clearTimeout(timer);
        resolve();
      }
    });
  });
  await exited;
  const lastAcked = Math.max(...acked);
  const inner = new SwitchSink();
  inner.up = true;
  const sink = buffer(inner, { dir });
  await sink.start();
  await until("the acknowledged events delivered", () =>
    events(0, lastAcked + 1).every((e) => inner.stored.has(e.id)),
  );
  // Order kept across the restart: every delivered id comes after the one before.
  assert.deepEqual(inner.received, [...inner.received].sort());
  await sink.close();
});

test("full: past maxBytes deliver is refused with ERR_BUFFER_FULL and onRoom fires once the sink drains it", async () => {
  const inner = new SwitchSink();
  const sink = buffer(inner, { maxBytes: 60_000 });
  await sink.start();
  let rooms = 0;
  sink.onRoom(() => rooms++);
  let accepted = 0;
  let refusal: unknown;
  for (let i = 0; i < 100 && refusal === undefined; i++) {
    try {
      await sink.deliver(events(i * 10, 10));
      accepted += 10;
    } catch (err) {
      refusal = err;
    }
  }
  assert.ok(refusal instanceof SinkError && refusal.code === "ERR_BUFFER_FULL", String(refusal));
  assert.ok(accepted > 0 && accepted < 100, `${accepted} accepted`);
  assert.equal(sink.full, true);
  await assert.rejects(sink.deliver(events(5000, 1)), { code: "ERR_BUFFER_FULL" });
  assert.equal(rooms, 0);
  inner.up = true;
  await until("room", () => rooms === 1);
  assert.equal(sink.full, false);
  await sink.deliver(events(6000, 10));
  await until("everything accepted is stored", () => inner.stored.size === accepted + 10);
  await sink.close();
});

test("rejected events reach deadLetters with the sink's reason and are not delivered again", async () => {
  const dir = newDir();
  const inner = new SwitchSink();
  inner.up = true;
  inner.refuse = (e) =>
    e.id.endsWith("7") ? "mapper_parsing_exception: failed to parse [process.pid]" : undefined;
  const dead: DeadLetterRow[] = [];
  const sink = buffer(inner, { dir, deadLetters: async (rows) => void dead.push(...rows) });
  await sink.start();
  await sink.deliver(events(0, 100));
  await until("100 settled", () => inner.received.length === 100);
  await until("dead letters", () => dead.length === 10);
  assert.deepEqual(
    dead.map((d) => d.event.id),
    events(0, 100)
      .map((e) => e.id)
      .filter((id) => id.endsWith("7")),
  );
  assert.ok(dead.every((d) => d.reason.startsWith("mapper_parsing_exception")));
  assert.equal(JSON.parse(dead[0]?.event.json ?? "{}").event.id, dead[0]?.event.id);
  await sink.close();
  // Nothing left behind: a restart delivers nothing again.
  const again = new SwitchSink();
  again.up = true;
  const reopened = buffer(again, { dir });
  await reopened.start();
  await new Promise((resolve) => setTimeout(resolve, 200));
  assert.equal(again.received.length, 0);
  assert.equal(inner.received.length, 100);
  await reopened.close();
});

test("metrics: buffer bytes and the oldest event's age grow while the sink is down and fall to 0 once delivered", async () => {
  const gauges = { bytes: -1, oldest: -1 };
  const counts = { delivered: 0, duplicates: 0, rejected: 0 };
  const metrics: SinkMetrics = {
    delivered: { inc: (n = 1) => void (counts.delivered += n) },
    duplicates: { inc: (n = 1) => void (counts.duplicates += n) },
    retried: { inc() {} },
    rejected: { inc: (n = 1) => void (counts.rejected += n) },
    bufferBytes: { set: (n) => void (gauges.bytes = n) },
    oldestUndeliveredSeconds: { set: (n) => void (gauges.oldest = n) },
  };
  const dir = newDir();
  const inner = new SwitchSink();
  inner.refuse = (e) => (e.id.endsWith("00000") ? "illegal_argument_exception" : undefined);
  const sink = buffer(inner, { dir, metrics });
  await sink.start();
  assert.equal(gauges.bytes, 0);
  await sink.deliver(events(0, 50));
  const bytes = gauges.bytes;
  assert.ok(bytes > 50 * 1000, `${bytes} bytes for 50 events of 1 KB`);
  await sink.deliver(events(50, 50));
  assert.ok(gauges.bytes > bytes * 1.9);
  await until("the oldest event is over a second old", () => gauges.oldest >= 1, 5000);
  inner.stored.add(testEvent(1).id); // already there: a redelivery
  inner.up = true;
  await until("drained", () => gauges.bytes === 0);
  assert.equal(gauges.oldest, 0);
  assert.deepEqual(counts, { delivered: 98, duplicates: 1, rejected: 1 });
  await sink.close();
});

test("an unwritable buffer folder: start fails and deliver acknowledges nothing", async () => {
  const file = join(root, "not-a-folder");
  writeFileSync(file, "");
  const sink = bufferedSink(new SwitchSink(), { dir: join(file, "buffer"), deadLetters: async () => {} });
  await assert.rejects(sink.start(), { code: "ERR_BUFFER_OPEN" });
  await assert.rejects(sink.deliver(events(0, 1)), SinkError);
});

test("disk full: the commit that does not fit rejects deliver, and nothing of it is kept; what was acknowledged is", async () => {
  const dir = newDir();
  // RLIMIT_FSIZE makes a write past 2 MiB fail (EFBIG; Node ignores SIGXFSZ), as a full disk does.
  const child = spawn(
    "/bin/sh",
    [
      "-c",
      'ulimit -f 2048; exec "$0" --import tsx test/fixtures/buffer-child.ts "$1" 200',
      process.execPath,
      dir,
    ],
    {
      stdio: ["ignore", "pipe", "pipe"],
    },
  );
  let out = "";
  child.stdout.on("data", (chunk: Buffer) => (out += chunk.toString()));
  child.stderr.resume();
  const code = await new Promise((resolve) => child.once("exit", resolve));
  assert.equal(code, 0, out);
  const lines = out.trim().split("\n");
  const refusedLine = lines.find((l) => l.startsWith("refused"));
  assert.ok(refusedLine?.startsWith("refused ERR_BUFFER_WRITE"), out);
  const health = JSON.parse(lines.find((l) => l.startsWith("health "))?.slice(7) ?? "{}") as SinkHealth;
  assert.equal(health.ok, false);
  assert.match(health.lastError ?? "", /could not commit/);
  const acked = lines.filter((l) => l.startsWith("ack")).map((l) => Number(l.split(" ")[2]));
  assert.ok(acked.length > 0, out);
  const lastAcked = Math.max(...acked);
  const inner = new SwitchSink();
  inner.up = true;
  const sink = buffer(inner, { dir });
  await sink.start();
  await until("the acknowledged events delivered", () => inner.stored.size >= lastAcked + 1);
  await new Promise((resolve) => setTimeout(resolve, 200));
  assert.deepEqual(
    inner.received,
    events(0, lastAcked + 1).map((e) => e.id),
  );
  await sink.close();
});

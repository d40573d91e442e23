/**
 * The worker (`tanium-ecs worker`) and `replay --nats` against a real nats-server (one node, R1
 * streams): raw events published as a receiver publishes them, delivered to a real DuckDB store
 * and to the bulk-protocol fake Elasticsearch, with the faults a user meets (a destination that
 * answers 503, refuses a mapping, a worker stopped or killed).
 */
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { spawn, type ChildProcess } from "node:child_process";
import { once } from "node:events";
import { rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { pino } from "pino";
import { connectBroker, type Broker } from "../src/broker/connection.ts";
import { decodeDeadLetter, encodeRaw, rawEvent } from "../src/broker/message.ts";
import { natsSettings, type BrokerSettings } from "../src/broker/settings.ts";
import { ensureWorkerTopology } from "../src/broker/topology.ts";
import { startWorker, type WorkerDeps, type WorkerHandle } from "../src/broker/worker.ts";
import type { SinkSpec } from "../src/delivery/index.ts";
import type { Frame } from "../src/framing/index.ts";
import { normalize } from "../src/normalize.ts";
import { resolveConfig, type ServerConfig } from "../src/server/config.ts";
import { storedDoc, type DeadLetterRow } from "../src/store/store.ts";
import { REPO_ROOT } from "./helpers.ts";
import { eventLine, eventLines, eventually, metricValue, tempDir } from "./server-helpers.ts";
import { FakeElasticsearch, type FakeOptions } from "./support/fake-elasticsearch.ts";
import { freePort, startNatsCluster, type NatsCluster } from "./support/nats.ts";

let cluster: NatsCluster;
const cleanups: (() => Promise<void> | void)[] = [];
const workers: WorkerHandle[] = [];

before(async () => {
  cluster = await startNatsCluster(1);
});

after(async () => {
  // Each stop waits for its last pull to end (2 s): all at once.
  await Promise.all(workers.map((handle) => handle.close()));
  for (const cleanup of cleanups.reverse()) await cleanup();
  await cluster.stop();
});

let streams = 0;

/** The `nats` settings as a config file spells them. */
type SettingsInput = { readonly servers: string[] } & Record<string, unknown>;

/** Streams, subjects and a consumer of the test's own, on the one server all tests use. */
function settingsInput(extra: Record<string, unknown> = {}): SettingsInput {
  const n = ++streams;
  return {
    servers: [...cluster.urls],
    replicas: 1,
    max_bytes: "100MB",
    stream: `RAW_${n}`,
    subject: `t${n}.raw`,
    consumer: `workers_${n}`,
    dead_letter_stream: `DEAD_${n}`,
    dead_letter_subject: `t${n}.dead`,
    ack_wait: "2s",
    ...extra,
  };
}

/** The test's own connection, the streams and consumer made as a worker makes them. */
async function testBroker(settings: BrokerSettings): Promise<Broker> {
  const broker = await connectBroker(settings, { name: "test" });
  cleanups.push(() => broker.close());
  await ensureWorkerTopology(broker.jsm, settings);
  return broker;
}

/** Publishes frames as a receiver does: `encodeRaw(rawEvent(...))`, `Nats-Msg-Id` = the event's id. */
async function publish(broker: Broker, frames: readonly Frame[], input = "http"): Promise<void> {
  const receivedAt = new Date().toISOString();
  for (let at = 0; at < frames.length; at += 200) {
    await Promise.all(
      frames.slice(at, at + 200).map((frame) => {
        const event = rawEvent(frame, input, receivedAt);
        const raw = encodeRaw(event, broker.settings.subject);
        return broker.js.publish(raw.subject, raw.data, { msgID: event.id, headers: raw.headers });
      }),
    );
  }
}

const line = (text: string): Frame => ({ kind: "line", text, line: 1 });

function workerConfig(
  settings: BrokerSettings,
  sinks: readonly SinkSpec[],
  flags: Record<string, string> = {},
): ServerConfig {
  const dir = tempDir();
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  const base = resolveConfig({
    flags: { http: "off", tcp: "off", udp: "off", data: dir, "batch-ms": "10", ...flags },
  });
  return { ...base, nats: settings, sinks };
}

const silent = pino({ level: process.env.TEST_LOG_LEVEL ?? "silent" });

async function worker(config: ServerConfig, deps: WorkerDeps = {}): Promise<WorkerHandle> {
  const handle = await startWorker(config, { logger: silent, ...deps });
  workers.push(handle);
  return handle;
}

async function fakeElasticsearch(
  options: FakeOptions = {},
): Promise<{ fake: FakeElasticsearch; url: string }> {
  const fake = new FakeElasticsearch(options);
  const url = await fake.listen();
  cleanups.push(() => fake.close());
  return { fake, url };
}

/** Every document the fake stored, by `_id`. */
function storedIds(fake: FakeElasticsearch): string[] {
  return [...fake.indices.values()].flatMap((docs) => [...docs.keys()]);
}

/** The `event.id` a line's document gets. */
function documentId(text: string): string {
  const result = normalize(text);
  assert.ok(result.ok);
  return storedDoc(result.doc).id;
}

/** The consumer settled everything: nothing waiting, nothing unacknowledged. */
async function consumerDrained(broker: Broker): Promise<boolean> {
  const info = await broker.jsm.consumers.info(broker.settings.stream, broker.settings.consumer);
  return info.num_pending === 0 && info.num_ack_pending === 0;
}

/** The letters of the dead-letter stream, with their sequence. */
async function deadLetters(broker: Broker): Promise<(DeadLetterRow & { seq: number })[]> {
  const stream = broker.settings.dead_letter_stream;
  const { state } = await broker.jsm.streams.info(stream);
  const out: (DeadLetterRow & { seq: number })[] = [];
  if (state.messages === 0) return out;
  for (let seq = state.first_seq; seq <= state.last_seq; seq++) {
    const stored = await broker.jsm.streams.getMessage(stream, { seq }).catch(() => null);
    if (stored === null) continue;
    const row = decodeDeadLetter(stored.string());
    assert.ok(row, `letter ${seq} is a dead-letter row`);
    out.push({ ...row, seq });
  }
  return out;
}

async function metric(handle: WorkerHandle, sample: string): Promise<number> {
  return metricValue(await handle.metrics.registry.metrics(), sample) ?? 0;
}

const ES_REFUSAL = "failed to parse field [file.size] of type [long] in document";

test("good lines become ECS documents in DuckDB and Elasticsearch once each; bad lines, framing errors and a refused document are dead letters with their codes and originals; every message is acked", async () => {
  const settings = natsSettings.parse(settingsInput());
  const broker = await testBroker(settings);
  const { fake, url } = await fakeElasticsearch({
    itemFault: (item) =>
      JSON.stringify(item.doc).includes("/tmp/refuse/")
        ? { status: 400, type: "mapper_parsing_exception", reason: ES_REFUSAL }
        : undefined,
  });
  const good = eventLines(20, "good");
  const refused = eventLine(1, "refuse");
  const junk = "{not json";
  const unknown = '{"hello":"world"}';
  const oversizeHead = '{"event":"file_open","hostname":"big"';
  const framing = "12x{not a prefix";
  await publish(broker, [
    ...good.map(line),
    line(refused),
    line(junk),
    line(unknown),
    { kind: "oversize", line: 1, bytes: 5_000_000, head: oversizeHead },
    { kind: "error", line: 1, text: framing, message: "octet count is not a number", code: "ERR_FRAMING" },
  ]);

  const handle = await worker(
    workerConfig(settings, [
      { name: "duckdb", kind: "duckdb", settings: {} },
      { name: "es", kind: "elasticsearch", settings: { url } },
    ]),
    { metricsListen: { host: "127.0.0.1", port: 0 } },
  );
  await eventually(
    async () => (await consumerDrained(broker)) && (await deadLetters(broker)).length === 5,
    15_000,
  );

  // Elasticsearch: the 20 good documents, each sent once; the refused one is not there.
  assert.deepEqual(storedIds(fake).sort(), good.map(documentId).sort());
  assert.ok(
    [...fake.arrivals.values()].every((n) => n === 1),
    "no document was sent twice",
  );
  // DuckDB took all 21 normalized documents (it did not refuse the one Elasticsearch refused).
  const store = handle.sinks.find((sink) => sink.name === "duckdb")?.queryable;
  assert.ok(store);
  const counts = await store.query(`SELECT count(*), count(DISTINCT "event.id") FROM events`);
  assert.deepEqual(counts.rows[0], [21, 21]);
  const ids = await store.query(`SELECT "event.id" FROM events WHERE "host.name" = 'host-good'`);
  assert.deepEqual(ids.rows.map((row) => row[0]).sort(), good.map(documentId).sort());

  const letters = await deadLetters(broker);
  const byCode = new Map(letters.map((letter) => [letter.code, letter]));
  assert.deepEqual([...byCode.keys()].sort(), [
    "ERR_FRAMING",
    "ERR_JSON_SYNTAX",
    "ERR_LINE_TOO_LONG",
    "ERR_NO_EVENT",
    "ERR_SINK_REJECTED",
  ]);
  assert.equal(byCode.get("ERR_JSON_SYNTAX")?.original, junk);
  assert.equal(byCode.get("ERR_NO_EVENT")?.original, unknown);
  assert.equal(byCode.get("ERR_LINE_TOO_LONG")?.original, oversizeHead);
  assert.match(byCode.get("ERR_LINE_TOO_LONG")?.message ?? "", /5000000 bytes/);
  assert.equal(byCode.get("ERR_FRAMING")?.original, framing);
  // A refusal names the sink and its reason, and keeps the raw event (what replay sends again).
  const rejected = byCode.get("ERR_SINK_REJECTED");
  assert.equal(rejected?.original, refused);
  assert.match(
    rejected?.message ?? "",
    /sink es rejected the document: .*failed to parse field \[file\.size\]/,
  );
  for (const letter of letters) assert.equal(letter.input, "http");

  // What an operator scrapes: the worker's own listener.
  const scraped = await (await fetch(`http://${handle.metricsAddress}/metrics`)).text();
  assert.equal(metricValue(scraped, "tanium_ecs_worker_messages_acked_total"), 25);
  assert.equal(metricValue(scraped, "tanium_ecs_worker_messages_naked_total"), 0);
  assert.equal(metricValue(scraped, 'tanium_ecs_dead_letters_total{code="ERR_SINK_REJECTED"}'), 1);
  assert.equal(metricValue(scraped, 'tanium_ecs_sink_delivered_total{sink="es"}'), 20);
  const health = await fetch(`http://${handle.metricsAddress}/healthz`);
  assert.equal(health.status, 200);
  assert.deepEqual(await health.json(), { status: "ok", consumer: settings.consumer, held: 0 });
});

test("Elasticsearch answering 503: the messages are naked with a delay and not acked, then delivered once when it is back", async () => {
  const settings = natsSettings.parse(settingsInput({ ack_wait: "2s" }));
  const broker = await testBroker(settings);
  let down = true;
  const { fake, url } = await fakeElasticsearch({
    requestFault: () => (down ? { status: 503, retryAfter: "0" } : undefined),
  });
  const lines = eventLines(10, "outage");
  await publish(broker, lines.map(line));
  const handle = await worker(
    workerConfig(settings, [{ name: "es", kind: "elasticsearch", settings: { url } }]),
    {
      deliverTimeoutMs: 400,
      nakBackoff: { baseMs: 300, capMs: 600 },
      metricsListen: { host: "127.0.0.1", port: 0 },
    },
  );
  await eventually(
    async () => (await metric(handle, "tanium_ecs_worker_messages_redelivered_total")) >= 10,
    15_000,
  );
  assert.equal(fake.storedCount(), 0);
  assert.equal(await metric(handle, "tanium_ecs_worker_messages_acked_total"), 0);
  assert.ok((await metric(handle, "tanium_ecs_worker_messages_naked_total")) >= 10);
  const info = await broker.jsm.consumers.info(settings.stream, settings.consumer);
  assert.equal(info.ack_floor.stream_seq, 0, "nothing acknowledged while Elasticsearch is down");
  const health = await fetch(`http://${handle.metricsAddress}/healthz`);
  assert.equal(health.status, 503);
  assert.deepEqual(
    { ...((await health.json()) as Record<string, unknown>), held: undefined },
    {
      status: "sink_failing",
      reason: "A sink fails: messages are naked and come again later.",
      sink: { name: "es", ok: false },
      held: undefined,
    },
  );

  down = false;
  await eventually(() => consumerDrained(broker), 15_000);
  assert.deepEqual(storedIds(fake).sort(), lines.map(documentId).sort());
  assert.ok(
    [...fake.arrivals.values()].every((n) => n === 1),
    "each document stored by one bulk item",
  );
  assert.equal(await metric(handle, "tanium_ecs_worker_messages_acked_total"), 10);
  assert.equal((await deadLetters(broker)).length, 0);
});

test("past max_deliver a message is an ERR_DELIVERY_FAILED dead letter with the reason and is terminated; one whose last ack wait passed is dead-lettered too", async () => {
  const settings = natsSettings.parse(settingsInput({ ack_wait: "1s", max_deliver: 2 }));
  const broker = await testBroker(settings);
  // A message delivered twice to a worker that never settled it (lost twice): its second ack
  // wait passes while this worker runs.
  const lost = eventLine(1, "lost");
  await publish(broker, [line(lost)]);
  const consumer = await broker.js.consumers.get(settings.stream, settings.consumer);
  for (let delivery = 1; delivery <= 2; delivery++) {
    const msg = await consumer.next({ expires: 3000 });
    assert.equal(msg?.info.deliveryCount, delivery);
  }

  const { fake, url } = await fakeElasticsearch({ requestFault: () => ({ status: 503 }) });
  const lines = eventLines(3, "never");
  const handle = await worker(
    workerConfig(settings, [{ name: "es", kind: "elasticsearch", settings: { url } }]),
    {
      deliverTimeoutMs: 300,
      nakBackoff: { baseMs: 100, capMs: 100 },
    },
  );
  await publish(broker, lines.map(line));
  await eventually(async () => (await deadLetters(broker)).length === 4, 15_000);
  await eventually(() => consumerDrained(broker), 5000);

  const letters = await deadLetters(broker);
  assert.ok(letters.every((letter) => letter.code === "ERR_DELIVERY_FAILED"));
  assert.deepEqual(letters.map((letter) => letter.original).sort(), [lost, ...lines].sort());
  for (const letter of letters.filter((l) => l.original !== lost)) {
    assert.match(letter.message, /not delivered in 2 deliveries; the last failure: .*es/);
  }
  assert.match(letters.find((l) => l.original === lost)?.message ?? "", /ack wait passed/);
  assert.equal(await metric(handle, "tanium_ecs_worker_messages_terminated_total"), 4);
  assert.equal(fake.storedCount(), 0);
});

test("a sink slower than the ack wait: the messages it holds get working() and are not redelivered", async () => {
  const settings = natsSettings.parse(settingsInput({ ack_wait: "1s" }));
  const broker = await testBroker(settings);
  const { fake, url } = await fakeElasticsearch({ requestFault: () => ({ delayMs: 2500 }) });
  const lines = eventLines(50, "slow");
  await publish(broker, lines.map(line));
  const handle = await worker(
    workerConfig(settings, [{ name: "es", kind: "elasticsearch", settings: { url } }]),
    { deliverTimeoutMs: 10_000 },
  );
  await eventually(() => consumerDrained(broker), 15_000);
  assert.deepEqual(storedIds(fake).sort(), lines.map(documentId).sort());
  assert.ok([...fake.arrivals.values()].every((n) => n === 1));
  assert.equal(await metric(handle, "tanium_ecs_worker_messages_redelivered_total"), 0);
  assert.equal(await metric(handle, "tanium_ecs_worker_messages_acked_total"), 50);
  assert.ok((await metric(handle, "tanium_ecs_worker_messages_working_total")) >= 50);
});

test("two workers share the consumer: each takes some, every event is stored once", async () => {
  const settings = natsSettings.parse(settingsInput());
  const broker = await testBroker(settings);
  // Slow answers keep each worker busy, so that the other's pulls are served too.
  const { fake, url } = await fakeElasticsearch({ requestFault: () => ({ delayMs: 20 }) });
  const sinks = [{ name: "es", kind: "elasticsearch", settings: { url } }];
  const flags = { "batch-max": "20" };
  const a = await worker(workerConfig(settings, sinks, flags));
  const b = await worker(workerConfig(settings, sinks, flags));
  const lines = eventLines(400, "split");
  await publish(broker, lines.map(line));
  await eventually(() => consumerDrained(broker), 20_000);

  const ackedA = await metric(a, "tanium_ecs_worker_messages_acked_total");
  const ackedB = await metric(b, "tanium_ecs_worker_messages_acked_total");
  assert.ok(ackedA > 0 && ackedB > 0, `both workers took messages (${ackedA}, ${ackedB})`);
  assert.equal(ackedA + ackedB, 400);
  assert.deepEqual(storedIds(fake).sort(), lines.map(documentId).sort());
  assert.ok(
    [...fake.arrivals.values()].every((n) => n === 1),
    "no event went to Elasticsearch twice",
  );
});

interface CliWorker {
  readonly child: ChildProcess;
  readonly exited: Promise<number | null>;
  readonly logs: Record<string, unknown>[];
}

/** `tanium-ecs worker` as a child process (through tsx); resolves once it logged "worker started". */
async function cliWorker(args: readonly string[]): Promise<CliWorker> {
  const child = spawn(
    process.execPath,
    ["--import", "tsx", join(REPO_ROOT, "src", "cli", "main.ts"), "worker", ...args],
    {
      cwd: REPO_ROOT,
      stdio: ["ignore", "pipe", "pipe"],
    },
  );
  cleanups.push(() => void child.kill("SIGKILL"));
  let stderr = "";
  child.stderr!.setEncoding("utf8").on("data", (text: string) => (stderr += text));
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  const logs: Record<string, unknown>[] = [];
  const started = new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no "worker started" line; stderr: ${stderr}`)), 20_000);
    createInterface({ input: child.stdout! }).on("line", (text) => {
      const entry = JSON.parse(text) as Record<string, unknown>;
      logs.push(entry);
      if (entry.msg === "worker started") {
        clearTimeout(timer);
        resolve();
      }
    });
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`worker exited (${code}) before starting: ${stderr}`));
    });
  });
  await started;
  return { child, exited, logs };
}

/** A config file with the test's `nats` mapping (servers from `--nats`). */
function configFile(input: SettingsInput): string {
  const dir = tempDir();
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  const nats: Record<string, unknown> = { ...input };
  delete nats.servers;
  const path = join(dir, "tanium-ecs.json");
  writeFileSync(path, JSON.stringify({ nats, data: dir }));
  return path;
}

test("SIGTERM during load: the messages in flight are settled and acked; after a restart nothing acked comes again", async () => {
  const input = settingsInput({ ack_wait: "2s" });
  const settings = natsSettings.parse(input);
  const broker = await testBroker(settings);
  const { fake, url } = await fakeElasticsearch({ requestFault: () => ({ delayMs: 150 }) });
  const lines = eventLines(1500, "sigterm");
  await publish(broker, lines.map(line));
  const cli = await cliWorker([
    "--nats",
    cluster.urls.join(","),
    "--config",
    configFile(input),
    "--elasticsearch",
    url,
    "--batch-max",
    "100",
  ]);
  const started = cli.logs.find((entry) => entry.msg === "worker started");
  assert.equal(started?.consumer, settings.consumer);
  assert.equal(started?.stream, settings.stream);
  await eventually(() => fake.storedCount() >= 200, 15_000);
  cli.child.kill("SIGTERM");
  assert.equal(await cli.exited, 0);
  const stopped = cli.logs.find((entry) => entry.msg === "stopped: every message in flight is settled");
  assert.ok(stopped, "the stop says every message in flight is settled");
  const atStop = storedIds(fake);
  const storedAtStop = atStop.length;
  assert.ok(storedAtStop < lines.length, "stopped during the load");
  // Every document Elasticsearch took was acked; the rest (naked at the stop, or never pulled) waits.
  assert.equal(stopped.acked, storedAtStop);
  // The consumer agrees (it applies the last acks in the background: a moment).
  await eventually(async () => {
    const info = await broker.jsm.consumers.info(settings.stream, settings.consumer);
    return info.num_pending + info.num_ack_pending === lines.length - storedAtStop;
  }, 3000);
  const restarted = await worker(
    workerConfig(settings, [{ name: "es", kind: "elasticsearch", settings: { url } }]),
  );
  await eventually(() => consumerDrained(broker), 20_000);
  assert.deepEqual(storedIds(fake).sort(), lines.map(documentId).sort());
  // What was acked at the stop never came again (the rest may: a redelivery, absorbed by _id).
  const arrivals = new Map([...fake.arrivals].map(([key, n]) => [key.slice(key.indexOf("/") + 1), n]));
  assert.ok(
    atStop.every((id) => arrivals.get(id) === 1),
    "no acknowledged event came again",
  );
  // The restarted worker took exactly the rest.
  assert.equal(
    await metric(restarted, "tanium_ecs_worker_messages_acked_total"),
    lines.length - storedAtStop,
  );
});

test("kill -9 of a worker: another gets its messages after the ack wait; every event is stored exactly once by _id", async () => {
  const input = settingsInput({ ack_wait: "2s" });
  const settings = natsSettings.parse(input);
  const broker = await testBroker(settings);
  const { fake, url } = await fakeElasticsearch({ requestFault: () => ({ delayMs: 300 }) });
  const lines = eventLines(1000, "kill9");
  await publish(broker, lines.map(line));
  const cli = await cliWorker([
    "--nats",
    cluster.urls.join(","),
    "--config",
    configFile(input),
    "--elasticsearch",
    url,
    "--batch-max",
    "100",
  ]);
  await eventually(() => fake.storedCount() >= 100, 15_000);
  cli.child.kill("SIGKILL");
  await cli.exited;
  const before = await broker.jsm.consumers.info(settings.stream, settings.consumer);
  assert.ok(before.num_ack_pending > 0, "the killed worker held messages");

  const survivor = await worker(
    workerConfig(settings, [{ name: "es", kind: "elasticsearch", settings: { url } }], {
      "batch-max": "200",
    }),
  );
  await eventually(() => consumerDrained(broker), 25_000);
  const ids = storedIds(fake);
  assert.equal(ids.length, lines.length);
  assert.deepEqual(ids.sort(), lines.map(documentId).sort());
  assert.ok((await metric(survivor, "tanium_ecs_worker_messages_redelivered_total")) > 0);
});

test("replay --nats: a letter whose original now goes through is republished and stored; one refused again is a letter again; those still failing stay", async () => {
  const input = settingsInput();
  const settings = natsSettings.parse(input);
  const broker = await testBroker(settings);
  let fixed = false;
  const { fake, url } = await fakeElasticsearch({
    itemFault: (item) => {
      const text = JSON.stringify(item.doc);
      const refused = text.includes("/tmp/stillbad/") || (!fixed && text.includes("/tmp/fixme/"));
      return refused ? { status: 400, type: "mapper_parsing_exception", reason: ES_REFUSAL } : undefined;
    },
  });
  const fixme = eventLines(3, "fixme");
  const stillBad = eventLine(1, "stillbad");
  const junk = ["{broken", "[1,2,3]", '{"not":"tanium"}'];
  await publish(broker, [...fixme, stillBad, ...junk].map(line));
  const handle = await worker(
    workerConfig(settings, [{ name: "es", kind: "elasticsearch", settings: { url } }]),
  );
  await eventually(async () => (await deadLetters(broker)).length === 7, 15_000);
  assert.equal(fake.storedCount(), 0);
  const before = await deadLetters(broker);

  // The fix: the destination takes the fixme documents now.
  fixed = true;
  const child = spawn(
    process.execPath,
    [
      "--import",
      "tsx",
      join(REPO_ROOT, "src", "cli", "main.ts"),
      "replay",
      "--nats",
      cluster.urls.join(","),
      "--config",
      configFile(input),
    ],
    { cwd: REPO_ROOT, stdio: ["ignore", "pipe", "pipe"] },
  );
  cleanups.push(() => void child.kill("SIGKILL"));
  let stdout = "";
  let stderr = "";
  child.stdout.setEncoding("utf8").on("data", (text: string) => (stdout += text));
  child.stderr.setEncoding("utf8").on("data", (text: string) => (stderr += text));
  const [code] = (await once(child, "exit")) as [number | null];
  // The four sink refusals normalize, so they go back; the three junk lines do not.
  assert.equal(
    stdout.trim(),
    "replayed 4, still failing 3 (ERR_JSON_SYNTAX 1, ERR_NOT_AN_OBJECT 1, ERR_NO_EVENT 1)",
    stderr,
  );
  assert.equal(code, 3);

  await eventually(() => fake.storedCount() === 3, 15_000);
  assert.deepEqual(storedIds(fake).sort(), fixme.map(documentId).sort());
  // Refused again within the duplicate window, yet a letter of its own: not taken for the first.
  await eventually(async () => (await deadLetters(broker)).length === 4, 10_000);
  await eventually(() => consumerDrained(broker), 5000);
  const left = await deadLetters(broker);
  assert.deepEqual(left.map((letter) => letter.original).sort(), [stillBad, ...junk].sort());
  const again = left.find((letter) => letter.original === stillBad);
  assert.equal(again?.code, "ERR_SINK_REJECTED");
  assert.ok(!before.some((letter) => letter.seq === again?.seq), "a new letter, the first one deleted");
  assert.equal(await metric(handle, "tanium_ecs_worker_messages_acked_total"), 11);
});

test("a worker stopped while NATS is unreachable still stops, within seconds", async () => {
  const own = await startNatsCluster(1);
  cleanups.push(() => own.stop());
  const settings = natsSettings.parse({ ...settingsInput(), servers: [...own.urls] });
  const handle = await startWorker(workerConfig(settings, [{ name: "null", kind: "null", settings: {} }]), {
    logger: silent,
  });
  await own.nodes[0]!.kill9();
  const started = Date.now();
  await handle.close();
  assert.ok(Date.now() - started < 10_000, `stopped in ${Date.now() - started} ms`);
});

test("the worker command exits 1 with a message saying what to fix: no NATS servers, NATS unreachable", async () => {
  const run = async (args: readonly string[]): Promise<{ code: number | null; stderr: string }> => {
    const child = spawn(
      process.execPath,
      ["--import", "tsx", join(REPO_ROOT, "src", "cli", "main.ts"), "worker", ...args],
      { cwd: REPO_ROOT, stdio: ["ignore", "ignore", "pipe"] },
    );
    cleanups.push(() => void child.kill("SIGKILL"));
    let stderr = "";
    child.stderr.setEncoding("utf8").on("data", (text: string) => (stderr += text));
    const [code] = (await once(child, "exit")) as [number | null];
    return { code, stderr };
  };
  const url = `nats://127.0.0.1:${await freePort()}`;
  const [none, unreachable] = await Promise.all([run([]), run(["--nats", url])]);
  assert.equal(none.code, 1);
  assert.equal(
    none.stderr,
    "tanium-ecs worker: needs the NATS servers: --nats nats://HOST:4222,… or nats.servers in --config\n",
  );
  assert.equal(unreachable.code, 1);
  assert.match(unreachable.stderr, new RegExp(`^tanium-ecs worker: cannot connect to NATS at ${url}: `));
});

/**
 * `nats status` and the broker gauges against a real nats-server (one node, R1): a stream and
 * consumer made by `ensureWorkerTopology`, raw events published as a receiver publishes them,
 * dead letters as a worker does, some messages fetched and left unacknowledged, some naked and
 * redelivered. The figures a user reads (in the table, the JSON and `/metrics`) must be those.
 */
import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { Registry } from "prom-client";
import type { JsMsg } from "@nats-io/jetstream";
import { connectBroker, type Broker } from "../src/broker/connection.ts";
import { encodeDeadLetter, encodeRaw, rawEvent } from "../src/broker/message.ts";
import { natsSettings, type BrokerSettings } from "../src/broker/settings.ts";
import { brokerStatus, isMissing, registerBrokerMetrics } from "../src/broker/status.ts";
import { ensureReceiverTopology, ensureWorkerTopology } from "../src/broker/topology.ts";
import { runNode } from "./helpers.ts";
import { eventLine, tempDir } from "./server-helpers.ts";
import { freePort, startNatsCluster, type NatsCluster } from "./support/nats.ts";

const HTTP_EVENTS = 25;
const TCP_EVENTS = 5;
const TOTAL = HTTP_EVENTS + TCP_EVENTS;

let cluster: NatsCluster;
let broker: Broker;
let settings: BrokerSettings;
let payloadBytes = 0;

async function fetchN(n: number): Promise<JsMsg[]> {
  const consumer = await broker.js.consumers.get(settings.stream, settings.consumer);
  const got: JsMsg[] = [];
  const messages = await consumer.fetch({ max_messages: n, expires: 2000 });
  for await (const m of messages) {
    got.push(m);
    if (got.length === n) break;
  }
  return got;
}

before(async () => {
  cluster = await startNatsCluster(1);
  settings = natsSettings.parse({ servers: cluster.urls, replicas: 1, max_bytes: "100MB" });
  broker = await connectBroker(settings, { name: "broker-status-test" });
});

after(async () => {
  await broker?.close();
  await cluster?.stop();
});

describe("broker status", () => {
  it("says what is not created yet, and by whom", async () => {
    let status = await brokerStatus(broker.jsm, settings);
    assert.ok(isMissing(status.raw) && /stream TANIUM_RAW does not exist yet/.test(status.raw.missing));
    assert.ok(isMissing(status.consumer) && /tanium-ecs-workers/.test(status.consumer.missing));
    assert.ok(isMissing(status.deadLetters) && /TANIUM_DEAD/.test(status.deadLetters.missing));
    // A receiver alone makes the raw stream only.
    await ensureReceiverTopology(broker.jsm, settings);
    status = await brokerStatus(broker.jsm, settings);
    assert.ok(!isMissing(status.raw));
    assert.equal(status.raw.messages, 0);
    assert.ok(isMissing(status.consumer) && /a worker creates it/.test(status.consumer.missing));
    assert.ok(isMissing(status.deadLetters));
  });

  it("reports depth, lag, unacknowledged, redelivered and dead letters as they are", async () => {
    await ensureWorkerTopology(broker.jsm, settings);
    const receivedAt = "2026-01-01T00:00:00.000Z";
    for (let i = 0; i < TOTAL; i++) {
      const input = i < HTTP_EVENTS ? "http" : "tcp:127.0.0.1:9581";
      const line = eventLine(i, "status");
      payloadBytes += Buffer.byteLength(line);
      const event = rawEvent({ kind: "line", text: line, line: 1 }, input, receivedAt);
      const { subject, headers, data } = encodeRaw(event, settings.subject);
      await broker.js.publish(subject, data, { headers, msgID: event.id });
    }
    const letters = [
      { code: "ERR_JSON_SYNTAX", original: "{not json" },
      { code: "ERR_JSON_SYNTAX", original: "{nor this" },
      { code: "ERR_SINK_REJECTED", original: eventLine(999, "status") },
    ];
    for (const letter of letters) {
      const dead = encodeDeadLetter(
        { ...letter, message: "test", input: "http", receivedAt },
        settings.dead_letter_subject,
      );
      await broker.js.publish(dead.subject, dead.data, { headers: dead.headers, msgID: dead.msgId });
    }

    // A worker's view: 10 delivered, 4 acked, 2 naked and delivered again, 4 held.
    const first = await fetchN(10);
    assert.equal(first.length, 10);
    for (const m of first.slice(0, 4)) await m.ackAck();
    for (const m of first.slice(4, 6)) m.nak();
    const again = await fetchN(2);
    assert.deepEqual(
      again.map((m) => [m.seq, m.info.deliveryCount]),
      [
        [5, 2],
        [6, 2],
      ],
    );

    const status = await brokerStatus(broker.jsm, settings);
    assert.ok(!isMissing(status.raw) && !isMissing(status.consumer) && !isMissing(status.deadLetters));
    assert.equal(status.raw.messages, TOTAL);
    assert.deepEqual(status.raw.bySubject, { "tanium.raw.http": HTTP_EVENTS, "tanium.raw.tcp": TCP_EVENTS });
    assert.ok(status.raw.bytes >= payloadBytes, `${status.raw.bytes} bytes hold ${payloadBytes} of lines`);
    assert.equal(status.raw.maxBytes, 100e6);
    assert.deepEqual([status.raw.firstSeq, status.raw.lastSeq, status.raw.replicas], [1, TOTAL, 1]);
    assert.ok(status.raw.firstTime !== undefined && Date.parse(status.raw.firstTime) > Date.now() - 60_000);
    assert.equal(status.consumer.pending, TOTAL - 10);
    assert.equal(status.consumer.ackPending, 6);
    assert.equal(status.consumer.redelivered, 2);
    assert.equal(status.consumer.ackFloor.streamSeq, 4);
    assert.equal(status.consumer.delivered.streamSeq, 10);
    assert.deepEqual([status.consumer.ackWaitMs, status.consumer.maxDeliver], [30_000, 10]);
    assert.equal(status.deadLetters.messages, 3);
    assert.deepEqual(status.deadLetters.byCode, { ERR_JSON_SYNTAX: 2, ERR_SINK_REJECTED: 1 });
  });

  it("prints the same figures as a table and as JSON; exit 2 when a part is missing", async () => {
    const table = await runNode([
      "--import",
      "tsx",
      "src/cli/main.ts",
      "nats",
      "status",
      "--nats",
      cluster.urls[0]!,
    ]);
    assert.equal(table.code, 0, table.stderr);
    assert.match(table.stdout, /^Raw stream TANIUM_RAW$/m);
    assert.match(table.stdout, /^ {2}messages +30$/m);
    assert.match(table.stdout, /^ {2}by subject +tanium\.raw\.http 25, tanium\.raw\.tcp 5$/m);
    assert.match(table.stdout, /^ {2}replicas +1: one server$/m);
    assert.match(table.stdout, /^ {2}oldest +\S+ \(max_age 24h\)$/m);
    assert.match(table.stdout, /^ {2}lag \(pending\) +20$/m);
    assert.match(table.stdout, /^ {2}ack pending +6 /m);
    assert.match(table.stdout, /^ {2}redelivered +2 /m);
    assert.match(table.stdout, /^ {2}by code +ERR_JSON_SYNTAX 2, ERR_SINK_REJECTED 1$/m);

    const json = await runNode([
      "--import",
      "tsx",
      "src/cli/main.ts",
      "nats",
      "status",
      "--nats",
      cluster.urls[0]!,
      "--json",
    ]);
    assert.equal(json.code, 0, json.stderr);
    const parsed = JSON.parse(json.stdout) as {
      raw: { messages: number };
      consumer: { pending: number; ackPending: number; redelivered: number };
      deadLetters: { byCode: Record<string, number> };
    };
    assert.equal(parsed.raw.messages, 30);
    assert.deepEqual(
      [parsed.consumer.pending, parsed.consumer.ackPending, parsed.consumer.redelivered],
      [20, 6, 2],
    );
    assert.deepEqual(parsed.deadLetters.byCode, { ERR_JSON_SYNTAX: 2, ERR_SINK_REJECTED: 1 });

    // The names come from the config file's nats mapping: none of these exist.
    const config = join(tempDir(), "worker.yaml");
    writeFileSync(
      config,
      "nats:\n  stream: OTHER\n  subject: other.raw\n  consumer: other-workers\n  dead_letter_stream: OTHER_DEAD\n  dead_letter_subject: other.dead\n",
    );
    const missing = await runNode([
      "--import",
      "tsx",
      "src/cli/main.ts",
      "nats",
      "status",
      "--config",
      config,
      "--nats",
      cluster.urls[0]!,
    ]);
    assert.equal(missing.code, 2, missing.stderr);
    assert.match(missing.stdout, /stream OTHER does not exist yet/);
    assert.match(missing.stdout, /consumer other-workers/);
  });

  it("exits 1 naming the servers when NATS cannot be reached", async () => {
    const url = `nats://127.0.0.1:${await freePort()}`;
    const started = Date.now();
    const result = await runNode(["--import", "tsx", "src/cli/main.ts", "nats", "status", "--nats", url]);
    assert.equal(result.code, 1);
    assert.equal(result.stdout, "");
    assert.match(result.stderr, new RegExp(`cannot connect to NATS at ${url.replace(/\./g, "\\.")}`));
    assert.ok(Date.now() - started < 15_000);
    const none = await runNode(["--import", "tsx", "src/cli/main.ts", "nats", "status"]);
    assert.equal(none.code, 1);
    assert.match(none.stderr, /needs the NATS servers/);
  });

  it("serves the figures as gauges; a failed lookup leaves them unset and is counted", async () => {
    const registry = new Registry();
    registerBrokerMetrics(registry, broker.jsm, settings, { timeoutMs: 500, cacheMs: 0 });
    const sample = async (): Promise<Map<string, number>> => {
      const out = new Map<string, number>();
      for (const line of (await registry.metrics()).split("\n")) {
        if (line.startsWith("#") || line === "") continue;
        const at = line.lastIndexOf(" ");
        out.set(line.slice(0, at), Number(line.slice(at + 1)));
      }
      return out;
    };
    let metrics = await sample();
    assert.equal(metrics.get('tanium_ecs_nats_stream_messages{stream="TANIUM_RAW"}'), TOTAL);
    assert.equal(metrics.get('tanium_ecs_nats_stream_messages{stream="TANIUM_DEAD"}'), 3);
    assert.ok(metrics.get('tanium_ecs_nats_stream_bytes{stream="TANIUM_RAW"}')! >= payloadBytes);
    assert.equal(metrics.get('tanium_ecs_nats_stream_max_bytes{stream="TANIUM_RAW"}'), 100e6);
    const labels = '{stream="TANIUM_RAW",consumer="tanium-ecs-workers"}';
    assert.equal(metrics.get(`tanium_ecs_nats_consumer_pending${labels}`), 20);
    assert.equal(metrics.get(`tanium_ecs_nats_consumer_ack_pending${labels}`), 6);
    assert.equal(metrics.get(`tanium_ecs_nats_consumer_redelivered${labels}`), 2);
    assert.equal(metrics.get('tanium_ecs_nats_dead_letters{stream="TANIUM_DEAD",code="ERR_JSON_SYNTAX"}'), 2);
    assert.equal(
      metrics.get('tanium_ecs_nats_dead_letters{stream="TANIUM_DEAD",code="ERR_SINK_REJECTED"}'),
      1,
    );
    assert.equal(metrics.get("tanium_ecs_nats_status_failures_total"), 0);

    // The server gone (the connection keeps trying to reconnect): the scrape still answers, soon.
    await cluster.nodes[0]!.kill9();
    const started = Date.now();
    metrics = await sample();
    assert.ok(Date.now() - started < 2000, `the scrape took ${Date.now() - started} ms`);
    assert.equal(
      [...metrics.keys()].filter((k) => k.startsWith("tanium_ecs_nats_") && !k.includes("failures")).length,
      0,
    );
    assert.equal(metrics.get("tanium_ecs_nats_status_failures_total"), 1);

    // Back (same store): the figures come back with it.
    await cluster.nodes[0]!.restart();
    const deadline = Date.now() + 15_000;
    do {
      metrics = await sample();
      if (metrics.has(`tanium_ecs_nats_consumer_pending${labels}`)) break;
      await new Promise((resolve) => setTimeout(resolve, 200));
    } while (Date.now() < deadline);
    assert.equal(metrics.get('tanium_ecs_nats_stream_messages{stream="TANIUM_RAW"}'), TOTAL);
  });
});

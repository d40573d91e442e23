/**
 * The receiver (`serve --publish`) against real nats-server processes: what it acknowledges is in
 * the stream (read back), repeats are stored once, framing errors travel as such, a full stream
 * pushes back on HTTP and TCP and loses nothing, a stream leader killed under load costs retries
 * and no event, and a start against no NATS or a differing stream fails in words.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { once } from "node:events";
import { rmSync, writeFileSync } from "node:fs";
import { connect, type Socket } from "node:net";
import { join } from "node:path";
import { jetstream, jetstreamManager, type JetStreamClient, type JetStreamManager } from "@nats-io/jetstream";
import { connectBroker, type Broker } from "../src/broker/connection.ts";
import { HEADER } from "../src/broker/message.ts";
import { natsSettings } from "../src/broker/settings.ts";
import { ensureStream, rawStreamSpec } from "../src/broker/topology.ts";
import { textKey } from "../src/store/store.ts";
import { REPO_ROOT } from "./helpers.ts";
import {
  eventLine,
  eventLines,
  eventually,
  metricValue,
  startTestServer,
  tempDir,
  type TestServer,
} from "./server-helpers.ts";
import { freePort, startNatsCluster, type NatsCluster } from "./support/nats.ts";

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

interface Stored {
  readonly seq: number;
  readonly subject: string;
  readonly data: string;
  readonly headers: Record<string, string>;
}

/** Every message of `stream`, in order, through an ordered consumer. */
async function readStream(js: JetStreamClient, jsm: JetStreamManager, stream: string): Promise<Stored[]> {
  const { state } = await jsm.streams.info(stream);
  const out: Stored[] = [];
  if (state.messages === 0) return out;
  const consumer = await js.consumers.get(stream);
  while (out.length < state.messages) {
    const batch = await consumer.fetch({ max_messages: 1000, expires: 2000 });
    let got = 0;
    for await (const m of batch) {
      got++;
      const headers: Record<string, string> = {};
      for (const [key, values] of m.headers ?? []) headers[key] = values[0] ?? "";
      out.push({ seq: m.seq, subject: m.subject, data: m.string(), headers });
      if (m.seq >= state.last_seq) break;
    }
    if (got === 0 || out.at(-1)!.seq >= state.last_seq) break;
  }
  return out;
}

/** How many messages the replica of TANIUM_RAW on one node holds (its monitoring endpoint). */
async function replicaMessages(monitorPort: number): Promise<number | undefined> {
  const res = await fetch(`http://127.0.0.1:${monitorPort}/jsz?streams=true`);
  const jsz = (await res.json()) as {
    account_details?: { stream_detail?: { name: string; state: { messages: number } }[] }[];
  };
  return jsz.account_details?.flatMap((a) => a.stream_detail ?? []).find((d) => d.name === "TANIUM_RAW")
    ?.state.messages;
}

async function post(url: string, lines: readonly string[]): Promise<Response> {
  return fetch(`${url}/ingest`, {
    method: "POST",
    headers: { "content-type": "application/x-ndjson" },
    body: lines.join("\n"),
  });
}

async function openTcp(port: number): Promise<Socket> {
  const socket = connect({ host: "127.0.0.1", port });
  await once(socket, "connect");
  return socket;
}

async function metrics(server: TestServer): Promise<string> {
  return (await fetch(`${server.url}/metrics`)).text();
}

/** A receiver publishing to `urls` with these `nats` settings (flags in their spelling). */
function receiver(
  urls: readonly string[],
  nats: Record<string, unknown>,
  flags: Record<string, string> = {},
): Promise<TestServer> {
  return startTestServer({ publish: urls.join(","), nats, udp: "off", ...flags });
}

describe("serve --publish (one NATS node)", () => {
  let cluster: NatsCluster;
  let broker: Broker;

  before(async () => {
    cluster = await startNatsCluster(1);
    broker = await connectBroker(natsSettings.parse({ servers: cluster.urls, replicas: 1 }), {
      name: "test",
    });
  });
  after(async () => {
    await broker?.close();
    await cluster?.stop();
  });

  it(
    "answers 200 only once the lines are in the stream, each stored once however often it is sent",
    { timeout: 30_000 },
    async () => {
      const server = await receiver(cluster.urls, { replicas: 1, max_bytes: "100MB" });
      try {
        const started = server.logs.find((l) => typeof l.msg === "string" && l.msg.startsWith("receiver:"));
        assert.deepEqual(started?.servers, cluster.urls, "the start log says where it publishes");
        const lines = eventLines(3, "recv");
        const before = new Date().toISOString();
        const first = await post(server.url, [...lines, lines[0]!]);
        assert.equal(first.status, 200);
        assert.deepEqual(await first.json(), { accepted: 4, dead_letters: 0 });
        // Read at once, no polling: the 200 came after the stream's acknowledgement.
        let stored = await readStream(broker.js, broker.jsm, "TANIUM_RAW");
        assert.deepEqual(
          stored.map((m) => m.data),
          lines,
          "the body of each message is the raw line, the repeat stored once",
        );
        for (const [i, m] of stored.entries()) {
          assert.equal(m.subject, "tanium.raw.http");
          assert.equal(m.headers[HEADER.msgId], textKey(lines[i]!));
          assert.equal(m.headers[HEADER.input], "http");
          const at = m.headers[HEADER.receivedAt]!;
          assert.ok(at >= before && at <= new Date().toISOString(), `receive time ${at}`);
          assert.equal(m.headers[HEADER.frame], undefined, "a line has no frame header");
        }

        const again = await post(server.url, lines);
        assert.equal(again.status, 200, "a resend is acknowledged too");
        stored = await readStream(broker.js, broker.jsm, "TANIUM_RAW");
        assert.equal(stored.length, 3, "the stream still holds each line once");
        const text = await metrics(server);
        assert.equal(metricValue(text, 'tanium_ecs_sink_delivered_total{sink="nats"}'), 3);
        assert.equal(metricValue(text, 'tanium_ecs_sink_duplicates_total{sink="nats"}'), 3);

        // TCP: input name and subject from the input; no acknowledgement, so wait for them.
        const tcpLines = eventLines(2, "recv-tcp");
        const socket = await openTcp(server.tcpPort);
        socket.end(tcpLines.map((l) => `${l}\n`).join(""));
        await eventually(async () => (await readStream(broker.js, broker.jsm, "TANIUM_RAW")).length === 5);
        const tcp = (await readStream(broker.js, broker.jsm, "TANIUM_RAW")).slice(3);
        assert.deepEqual(
          tcp.map((m) => m.data),
          tcpLines,
        );
        for (const m of tcp) {
          assert.equal(m.subject, "tanium.raw.tcp");
          assert.match(m.headers[HEADER.input]!, /^tcp:127\.0\.0\.1:\d+$/);
        }

        // Nothing is normalized here: no sink to query.
        const api = await fetch(`${server.url}/api/query`, { method: "POST" });
        assert.equal(api.status, 404);
        assert.equal(((await api.json()) as { error: { code: string } }).error.code, "ERR_NO_QUERYABLE_SINK");
      } finally {
        await server.stop();
      }
    },
  );

  it(
    "publishes an oversize line and a bad octet frame as framing frames; a message too big for NATS is a local dead letter",
    { timeout: 30_000 },
    async () => {
      const nats = { stream: "FRAMES", subject: "frames.raw", replicas: 1, max_bytes: "100MB" };
      const server = await receiver(cluster.urls, nats, { "max-line-bytes": String(2 * 1024 * 1024) });
      try {
        const big = JSON.stringify({ event: "file_open", pad: "x".repeat(3 * 1024 * 1024) });
        const tooBig = JSON.stringify({ event: "file_open", pad: "y".repeat(1100 * 1024) });
        const res = await post(server.url, [eventLine(1, "frames"), big, tooBig]);
        assert.equal(res.status, 200);
        assert.deepEqual(
          await res.json(),
          { accepted: 2, dead_letters: 1 },
          "the line over the server's max_payload is a dead letter",
        );
        const socket = await openTcp(server.tcpPort);
        const good = eventLine(2, "frames");
        socket.end(`${Buffer.byteLength(good)} ${good}\nx12 not a length\n`);
        await eventually(async () => (await readStream(broker.js, broker.jsm, "FRAMES")).length === 4);
        const [line, oversize, octet, bad] = await readStream(broker.js, broker.jsm, "FRAMES");
        assert.equal(line!.data, eventLine(1, "frames"));
        assert.equal(oversize!.headers[HEADER.frame], "oversize");
        assert.equal(oversize!.headers[HEADER.bytes], String(Buffer.byteLength(big)));
        assert.ok(big.startsWith(oversize!.data) && oversize!.data.length < 1024 * 1024, "the head is kept");
        assert.equal(octet!.data, good);
        assert.equal(octet!.subject, "frames.raw.tcp");
        assert.equal(bad!.headers[HEADER.frame], "error");
        assert.equal(bad!.headers[HEADER.code], "ERR_FRAMING");
        assert.equal(bad!.data, "x12 not a length");

        const letters = await server.handle.store.query("SELECT code, message, original FROM dead_letters");
        assert.equal(letters.rows.length, 1);
        const [code, message, original] = letters.rows[0]!;
        assert.equal(code, "ERR_SINK_REJECTED");
        assert.match(
          String(message),
          /sink nats rejected the document: NATS refused the message: .*max_payload/,
        );
        assert.equal(original, tooBig);
        assert.equal(metricValue(await metrics(server), 'tanium_ecs_sink_rejected_total{sink="nats"}'), 1);
      } finally {
        await server.stop();
      }
    },
  );

  it(
    "a full stream answers 503 + Retry-After, says so on /healthz, holds TCP, and loses nothing once it has room",
    { timeout: 30_000 },
    async () => {
      // 39 of these messages (405 bytes each with their headers) fit: the first body fills the
      // stream, its rest waits for room; after a purge, that rest and the TCP lines fit.
      const nats = { stream: "FULL", subject: "full.raw", replicas: 1, max_bytes: "16KB" };
      const server = await receiver(cluster.urls, nats);
      try {
        const filling = post(server.url, eventLines(50, "full"));
        let answered = false;
        void filling.then(() => (answered = true));
        await eventually(async () => (await fetch(`${server.url}/healthz`)).status === 503);
        const health = await fetch(`${server.url}/healthz`);
        const said = (await health.json()) as { status: string; reason: string };
        assert.equal(said.status, "sink_buffer_full");
        assert.match(said.reason, /NATS stream FULL is full/);

        const refused = await post(server.url, eventLines(5, "refused"));
        assert.equal(refused.status, 503);
        assert.equal(refused.headers.get("retry-after"), "1");
        const body = (await refused.json()) as { error: { code: string; message: string } };
        assert.equal(body.error.code, "ERR_QUEUE_FULL");
        assert.match(body.error.message, /NATS stream FULL is full/);

        // TCP: sent while full, it is not read past what was in hand, and none of it is in the stream.
        const tcpLines = eventLines(20, "full-tcp");
        const socket = await openTcp(server.tcpPort);
        socket.write(
          tcpLines
            .slice(0, 10)
            .map((l) => `${l}\n`)
            .join(""),
        );
        await sleep(200);
        socket.write(
          tcpLines
            .slice(10)
            .map((l) => `${l}\n`)
            .join(""),
        );
        await sleep(500);
        const received = metricValue(await metrics(server), 'tanium_ecs_received_total{input="tcp"}') ?? 0;
        assert.ok(received <= 10, `the paused socket was not read further (${received} frames read)`);
        const held = await readStream(broker.js, broker.jsm, "FULL");
        assert.ok(held.length > 10 && held.length < 50, `the stream filled (${held.length} messages)`);
        assert.ok(!held.some((m) => m.subject === "full.raw.tcp"), "no TCP line got in while full");
        assert.equal(answered, false, "the body whose lines are not all in is not answered");

        await broker.jsm.streams.purge("FULL");
        const filled = await filling;
        assert.equal(filled.status, 200, "the body that waited is acknowledged once its lines are in");
        socket.end();
        await eventually(
          async () =>
            (await readStream(broker.js, broker.jsm, "FULL")).filter((m) => m.subject === "full.raw.tcp")
              .length === 20,
        );
        const tcp = (await readStream(broker.js, broker.jsm, "FULL")).filter(
          (m) => m.subject === "full.raw.tcp",
        );
        assert.deepEqual(tcp.map((m) => m.data).sort(), [...tcpLines].sort(), "every TCP line, once");
        assert.equal((await fetch(`${server.url}/healthz`)).status, 200);
        assert.equal((await post(server.url, eventLines(2, "after"))).status, 200);
      } finally {
        await server.stop();
      }
    },
  );

  it(
    "refuses sinks of its own, and a stream that cannot have 3 replicas on one node",
    { timeout: 30_000 },
    async () => {
      await assert.rejects(
        receiver(cluster.urls, { replicas: 1 }, { elasticsearch: "http://127.0.0.1:9" }),
        /a receiver \(--publish\) has no sinks of its own.*tanium-ecs worker/,
      );
      await assert.rejects(
        receiver(cluster.urls, { stream: "R3", subject: "r3.raw", max_bytes: "100MB" }),
        /stream R3 cannot have 3 replicas here.*set nats\.replicas to 1/,
      );
    },
  );
});

describe("serve --publish exits 1 when it cannot publish", () => {
  /** `tanium-ecs serve` with these flags (through tsx); its exit code and stderr. */
  async function serveFails(args: readonly string[]): Promise<{ code: number | null; stderr: string }> {
    const data = tempDir();
    const child = spawn(
      process.execPath,
      [
        "--import",
        "tsx",
        join(REPO_ROOT, "src", "cli", "main.ts"),
        "serve",
        "--http",
        "127.0.0.1:0",
        "--tcp",
        "off",
        "--udp",
        "off",
        "--data",
        data,
        ...args,
      ],
      { cwd: REPO_ROOT, stdio: ["ignore", "ignore", "pipe"], env: { ...process.env, TANIUM_ECS_TOKEN: "" } },
    );
    let stderr = "";
    child.stderr!.setEncoding("utf8").on("data", (d: string) => (stderr += d));
    const timer = setTimeout(() => child.kill("SIGKILL"), 30_000);
    const [code] = (await once(child, "exit")) as [number | null];
    clearTimeout(timer);
    rmSync(data, { recursive: true, force: true });
    return { code, stderr };
  }

  it(
    "names the servers when NATS is unreachable, and says what differs in the stream",
    { timeout: 30_000 },
    async () => {
      const cluster = await startNatsCluster(1);
      const dir = tempDir();
      try {
        const settings = natsSettings.parse({
          servers: cluster.urls,
          stream: "DIFF",
          subject: "diff.raw",
          replicas: 1,
          max_bytes: "100MB",
        });
        const broker = await connectBroker(settings, { name: "test" });
        try {
          await ensureStream(broker.jsm, { ...rawStreamSpec(settings), maxAgeMs: 3_600_000 });
        } finally {
          await broker.close();
        }
        const config = join(dir, "receiver.yaml");
        writeFileSync(
          config,
          "nats:\n  stream: DIFF\n  subject: diff.raw\n  replicas: 1\n  max_bytes: 100MB\n",
        );
        const nowhere = `nats://127.0.0.1:${await freePort()}`;
        const [unreachable, differs] = await Promise.all([
          serveFails(["--publish", nowhere]),
          serveFails(["--publish", cluster.urls.join(","), "--config", config]),
        ]);
        assert.equal(unreachable.code, 1);
        assert.match(unreachable.stderr, new RegExp(`cannot connect to NATS at ${nowhere}`));
        assert.equal(differs.code, 1);
        assert.match(
          differs.stderr,
          /stream DIFF differs from the configuration: max_age is "3600000ms", the configuration says "86400000ms"/,
        );
      } finally {
        rmSync(dir, { recursive: true, force: true });
        await cluster.stop();
      }
    },
  );
});

describe("serve --publish, 3 nodes, R3", () => {
  it(
    "loses and doubles nothing acknowledged when the stream leader is killed under load",
    { timeout: 45_000 },
    async (t) => {
      const cluster = await startNatsCluster(3);
      let server: TestServer | undefined;
      let broker: Broker | undefined;
      try {
        server = await receiver(cluster.urls, { replicas: 3, max_bytes: "100MB" });
        broker = await connectBroker(natsSettings.parse({ servers: cluster.urls }), { name: "test" });
        const leader = await cluster.streamLeader("TANIUM_RAW");
        const acknowledged: string[] = [];
        let refused = 0;
        let longest = 0;
        let next = 0;
        let stop = false;
        // Four senders, 25 distinct lines a POST, for as long as the election and its recovery take.
        const sender = async (): Promise<void> => {
          while (!stop) {
            const lines = eventLines(25, "kill", next);
            next += 25;
            const sent = Date.now();
            const res = await post(server!.url, lines);
            await res.arrayBuffer();
            longest = Math.max(longest, Date.now() - sent);
            if (res.status === 200) acknowledged.push(...lines);
            else refused++;
          }
        };
        const senders = Array.from({ length: 4 }, sender);
        await sleep(1000);
        const before = acknowledged.length;
        await leader.kill9();
        await eventually(async () => acknowledged.length > before + 500, 20_000).catch(() => {
          throw new Error(
            `publishing did not resume after the kill (${acknowledged.length - before} lines since)`,
          );
        });
        await sleep(500);
        stop = true;
        await Promise.all(senders);
        // Read back from the two nodes left: what the senders were told is stored is there now.
        // (Not just after the restart: here a restarted node answered stream info from its stale
        // replica for a moment, once as a self-declared leader, before it caught up.)
        let stored: Stored[] | undefined;
        for (let attempt = 0; stored === undefined; attempt++) {
          try {
            // API requests soon after the kill may time out while a meta leader is elected:
            // a short timeout and another try, not the client's 10 s.
            const nc = broker.nc;
            stored = await readStream(
              jetstream(nc, { timeout: 2000 }),
              await jetstreamManager(nc, { timeout: 2000 }),
              "TANIUM_RAW",
            );
          } catch (err) {
            if (attempt === 9) throw err;
            await sleep(500);
          }
        }
        const count = new Map<string, number>();
        for (const m of stored) count.set(m.data, (count.get(m.data) ?? 0) + 1);
        const missing = acknowledged.filter((line) => count.get(line) !== 1);
        assert.equal(
          missing.length,
          0,
          `${missing.length} acknowledged lines not in the stream exactly once`,
        );
        assert.equal(count.size, stored.length, "no line stored twice");
        assert.equal(
          refused,
          0,
          "no POST had to be refused: the election is shorter than the publish timeout",
        );
        const retried = metricValue(await metrics(server), 'tanium_ecs_sink_retried_total{sink="nats"}') ?? 0;
        assert.ok(retried > 0, "publishes were retried during the election");
        t.diagnostic(
          `${acknowledged.length} lines acknowledged, ${stored.length} stored, ${retried} publish retries, longest POST ${longest} ms`,
        );
        // The killed node comes back and its replica catches up with the others.
        await leader.restart();
        const all = stored.length;
        await eventually(async () => (await replicaMessages(leader.monitorPort)) === all, 20_000).catch(
          () => {
            throw new Error("the restarted node's replica did not catch up within 20 s");
          },
        );
        assert.equal((await fetch(`${server.url}/healthz`)).status, 200);
      } finally {
        await server?.stop();
        await broker?.close();
        await cluster.stop();
      }
    },
  );
});

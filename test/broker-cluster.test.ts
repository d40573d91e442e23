/**
 * The proof of the NATS mode, with the real commands (`bin/tanium-ecs.js`, after `npm run build`):
 * a 3-node cluster with R3 raw and dead-letter streams, 2 receivers (`serve --publish`, HTTP and
 * TCP) and 3 workers (`worker`, into a server speaking Elasticsearch's bulk protocol, which keeps
 * documents by `_id`). 100,000 events go in over HTTP and TCP, a known set of them bad lines;
 * during the run the raw stream's leader and one worker are killed with SIGKILL, then restarted.
 * At the end every event acknowledged to a sender is stored exactly once by `_id`, nothing else
 * is stored, and the dead-letter stream holds exactly the bad lines sent.
 */
import assert from "node:assert/strict";
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { once } from "node:events";
import { rmSync, writeFileSync } from "node:fs";
import { connect as tcpConnect } from "node:net";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { setTimeout as sleep } from "node:timers/promises";
import { after, describe, it } from "node:test";
import { DeliverPolicy } from "@nats-io/jetstream";
import { connectBroker, type Broker } from "../src/broker/connection.ts";
import { decodeDeadLetter } from "../src/broker/message.ts";
import { natsSettings } from "../src/broker/settings.ts";
import { brokerStatus, isMissing } from "../src/broker/status.ts";
import { normalize } from "../src/normalize.ts";
import { REPO_ROOT } from "./helpers.ts";
import { eventLine, tempDir } from "./server-helpers.ts";
import { BIN } from "./server-spawn.ts";
import { FakeElasticsearch } from "./support/fake-elasticsearch.ts";
import { startNatsCluster, type NatsCluster } from "./support/nats.ts";

const HTTP_EVENTS = 60_000;
const TCP_EVENTS = 40_000;
const HTTP_BATCH = 500;
const HTTP_CLIENTS = 4;
/** Bad lines among them: every BAD_EVERY-th event of each sender. */
const BAD_EVERY = 500;
/** When the faults come: after this many events are acknowledged. */
const CHAOS_AFTER = 25_000;
/** The whole run (load, faults, draining) must end within this. */
const DEADLINE_MS = 150_000;

const cleanups: (() => Promise<void> | void)[] = [];
after(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
});

interface Cli {
  readonly child: ChildProcess;
  /** `listening` ports by input (receivers). */
  readonly ports: Map<string, number>;
  readonly exited: Promise<number | null>;
  /** The last log lines and stderr, for a failure's message. */
  output(): string;
}

/** Starts `tanium-ecs <args>` and resolves once `ready` holds for one of its JSON log lines. */
async function startCli(
  args: readonly string[],
  ready: (entry: Record<string, unknown>, ports: Map<string, number>) => boolean,
): Promise<Cli> {
  const child = spawn(process.execPath, [BIN, ...args], {
    cwd: REPO_ROOT,
    env: { ...process.env, TANIUM_ECS_TOKEN: "" },
    stdio: ["ignore", "pipe", "pipe"],
  });
  const tail: string[] = [];
  const keep = (line: string): void => {
    tail.push(line);
    if (tail.length > 40) tail.shift();
  };
  child.stderr!.setEncoding("utf8").on("data", (text: string) => keep(text));
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  const ports = new Map<string, number>();
  const lines = createInterface({ input: child.stdout! });
  const cli: Cli = { child, ports, exited, output: () => tail.join("\n") };
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`tanium-ecs ${args[0]} did not start:\n${cli.output()}`)),
      30_000,
    );
    let done = false;
    lines.on("line", (line) => {
      keep(line);
      if (done) return;
      let entry: Record<string, unknown>;
      try {
        entry = JSON.parse(line) as Record<string, unknown>;
      } catch {
        return;
      }
      if (entry.msg === "listening" && typeof entry.input === "string" && typeof entry.port === "number")
        ports.set(entry.input, entry.port);
      if (ready(entry, ports)) {
        done = true;
        clearTimeout(timer);
        resolve();
      }
    });
    void exited.then((code) => {
      clearTimeout(timer);
      if (!done)
        reject(new Error(`tanium-ecs ${args[0]} exited ${code} before it was ready:\n${cli.output()}`));
    });
  });
  cleanups.push(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
  });
  return cli;
}

async function stopCli(cli: Cli): Promise<number | null> {
  if (cli.child.exitCode !== null || cli.child.signalCode !== null) return cli.child.exitCode;
  cli.child.kill("SIGTERM");
  const timer = setTimeout(() => cli.child.kill("SIGKILL"), 20_000);
  const code = await cli.exited;
  clearTimeout(timer);
  return code;
}

/** The event ids (`event.id`, the documents' `_id`) of good lines; bad lines are dead letters. */
function lineOf(sender: string, n: number): { line: string; bad: boolean } {
  if (n % BAD_EVERY === BAD_EVERY - 1) {
    // Three kinds of refusal, each line distinct: not JSON, JSON with no event, not an object.
    const kind = Math.floor(n / BAD_EVERY) % 3;
    const line =
      kind === 0
        ? `{"broken": "${sender}-${n}"`
        : kind === 1
          ? `{"no_event": "${sender}-${n}"}`
          : `["${sender}", ${n}]`;
    return { line, bad: true };
  }
  return { line: eventLine(n, sender), bad: false };
}

describe("the NATS mode on a 3-node cluster", () => {
  it("stores every acknowledged event exactly once through kill -9 of the stream leader and of a worker", async (t) => {
    const started = Date.now();
    const probe = spawnSync(process.execPath, [BIN, "worker", "--help"], { encoding: "utf8" });
    assert.equal(probe.status, 0, `the built command has no worker (npm run build first): ${probe.stderr}`);

    const cluster: NatsCluster = await startNatsCluster(3);
    cleanups.push(() => cluster.stop());
    const es = new FakeElasticsearch();
    const esUrl = await es.listen();
    cleanups.push(() => es.close());
    const dir = tempDir();
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    const urls = cluster.urls.join(",");
    // Short ack wait: a killed worker's messages come back within seconds.
    const natsYaml = [
      "nats:",
      "  replicas: 3",
      "  max_bytes: 500MB",
      "  ack_wait: 3s",
      "  max_deliver: 20",
      "  publish_timeout: 30s",
      "",
    ].join("\n");
    const config = join(dir, "tanium-ecs.yaml");
    writeFileSync(config, natsYaml);
    const settings = natsSettings.parse({
      servers: cluster.urls,
      replicas: 3,
      max_bytes: "500MB",
      ack_wait: "3s",
      max_deliver: 20,
    });
    const broker: Broker = await connectBroker(settings, { name: "broker-cluster-test" });
    cleanups.push(() => broker.close());

    const receiverArgs = (i: number): string[] => [
      "serve",
      "--publish",
      urls,
      "--config",
      config,
      "--http",
      "127.0.0.1:0",
      "--tcp",
      "127.0.0.1:0",
      "--udp",
      "off",
      "--data",
      join(dir, `receiver-${i}`),
    ];
    const receivers = await Promise.all(
      [0, 1].map((i) => startCli(receiverArgs(i), (_, ports) => ports.has("http") && ports.has("tcp"))),
    );
    const workerArgs = (i: number): string[] => [
      "worker",
      "--nats",
      urls,
      "--config",
      config,
      "--data",
      join(dir, `worker-${i}`),
      "--elasticsearch",
      esUrl,
    ];
    const workerReady = (entry: Record<string, unknown>): boolean =>
      typeof entry.msg === "string" && /worker started/i.test(entry.msg);
    const workers = await Promise.all([0, 1, 2].map((i) => startCli(workerArgs(i), workerReady)));

    // What goes in, by sender: ids of good lines, the bad lines' text.
    const goodIds = new Map<string, string>();
    const badLines = new Set<string>();
    const idOf = (line: string): string => {
      const r = normalize(line, { receivedAt: "2026-01-01T00:00:00.000Z" });
      assert.ok(r.ok, line);
      return String((r.doc as { event: { id: string } }).event.id);
    };
    const acknowledged = new Set<string>(); // ids of good lines acknowledged
    let acknowledgedCount = 0;
    let retriedBatches = 0;
    let failed = false;

    // HTTP: 4 clients, each its own events, to both receivers in turn; a 503 or a reset is resent.
    const httpClient = async (c: number): Promise<void> => {
      const per = HTTP_EVENTS / HTTP_CLIENTS;
      for (let from = 0, b = 0; from < per; from += HTTP_BATCH, b++) {
        const batch = Array.from({ length: HTTP_BATCH }, (_, k) => lineOf(`h${c}`, from + k));
        for (const { line, bad } of batch) {
          if (bad) badLines.add(line);
          else goodIds.set(line, idOf(line));
        }
        const body = batch.map((e) => e.line).join("\n") + "\n";
        const target = receivers[(c + b) % 2]!;
        for (;;) {
          assert.ok(Date.now() - started < DEADLINE_MS && !failed, "the load did not get through in time");
          let status = 0;
          let retryAfter = 0.2;
          try {
            const response = await fetch(`http://127.0.0.1:${target.ports.get("http")}/ingest`, {
              method: "POST",
              headers: { "content-type": "application/x-ndjson" },
              body,
              signal: AbortSignal.timeout(60_000),
            });
            status = response.status;
            retryAfter = Math.min(1, Number(response.headers.get("retry-after") ?? "0.2") || 0.2);
            await response.arrayBuffer();
          } catch {
            // A reset: not acknowledged, sent again.
          }
          if (status === 200) break;
          assert.ok(status === 0 || status === 503, `HTTP ${status}`);
          retriedBatches++;
          await sleep(retryAfter * 1000);
        }
        for (const { line, bad } of batch) if (!bad) acknowledged.add(goodIds.get(line)!);
        acknowledgedCount += batch.length;
      }
    };
    // TCP: one connection to each receiver, streaming; a frame the receiver has read is published.
    const tcpSender = async (r: number): Promise<void> => {
      const per = TCP_EVENTS / 2;
      const socket = tcpConnect({ host: "127.0.0.1", port: receivers[r]!.ports.get("tcp")! });
      await once(socket, "connect");
      const closed = once(socket, "close") as Promise<[boolean]>;
      const sent: string[] = [];
      for (let from = 0; from < per && !failed; from += 1000) {
        const chunk = Array.from({ length: Math.min(1000, per - from) }, (_, k) => lineOf(`t${r}`, from + k));
        for (const { line, bad } of chunk) {
          if (bad) badLines.add(line);
          else {
            const id = idOf(line);
            goodIds.set(line, id);
            sent.push(id);
          }
        }
        if (!socket.write(chunk.map((e) => e.line).join("\n") + "\n")) await once(socket, "drain");
        acknowledgedCount += chunk.length;
      }
      socket.end();
      const [hadError] = await closed;
      assert.equal(hadError, false, "a TCP connection failed");
      for (const id of sent) acknowledged.add(id);
    };

    // The faults: once a quarter is in, kill -9 the raw stream's leader and one worker; restart
    // the worker 3 s later and the node 2 s after that, while the load goes on.
    let killedNode = "";
    const chaos = (async (): Promise<void> => {
      while (acknowledgedCount < CHAOS_AFTER) await sleep(50);
      const leader = await cluster.streamLeader(settings.stream);
      killedNode = leader.name;
      const victim = workers[1]!;
      await Promise.all([
        leader.kill9(),
        (async () => {
          const exited = victim.exited;
          victim.child.kill("SIGKILL");
          await exited;
        })(),
      ]);
      await sleep(3000);
      // Started while the cluster may still elect its JetStream meta leader: the worker waits
      // the election out ("JetStream system temporarily unavailable") instead of exiting.
      workers[1] = await startCli(workerArgs(1), workerReady);
      await sleep(2000);
      await leader.restart();
    })();

    // One failure ends every sender: none keeps posting until the deadline.
    await Promise.all(
      [
        ...Array.from({ length: HTTP_CLIENTS }, (_, c) => httpClient(c)),
        tcpSender(0),
        tcpSender(1),
        chaos,
      ].map((task) =>
        task.catch((err: unknown) => {
          failed = true;
          throw err;
        }),
      ),
    );
    const loadMs = Date.now() - started;

    // Drained: every acknowledged event stored, every bad line a letter, nothing left unacknowledged.
    const deadline = started + DEADLINE_MS;
    for (;;) {
      const stored = new Set<string>();
      for (const docs of es.indices.values()) for (const id of docs.keys()) stored.add(id);
      const missing = [...acknowledged].filter((id) => !stored.has(id)).length;
      const status = await brokerStatus(broker.jsm, settings).catch(() => undefined);
      const letters =
        status === undefined || isMissing(status.deadLetters) ? -1 : status.deadLetters.messages;
      const idle =
        status !== undefined &&
        !isMissing(status.consumer) &&
        status.consumer.pending === 0 &&
        status.consumer.ackPending === 0;
      const lastStatus = `missing ${missing}, stored ${stored.size}, letters ${letters}, consumer ${JSON.stringify(status?.consumer)}`;
      if (missing === 0 && letters === badLines.size && idle) break;
      assert.ok(Date.now() < deadline, `not drained in time: ${lastStatus}`);
      await sleep(250);
    }

    // Exactly once by _id: each acknowledged id in one index only, and no document not sent.
    const where = new Map<string, number>();
    for (const docs of es.indices.values())
      for (const id of docs.keys()) where.set(id, (where.get(id) ?? 0) + 1);
    const sentIds = new Set(goodIds.values());
    assert.equal([...where.values()].filter((n) => n > 1).length, 0, "an _id stored in two indices");
    assert.equal([...where.keys()].filter((id) => !sentIds.has(id)).length, 0, "a document nobody sent");
    assert.equal([...acknowledged].filter((id) => !where.has(id)).length, 0);
    assert.equal(acknowledged.size, HTTP_EVENTS + TCP_EVENTS - badLines.size);

    // The dead-letter stream: exactly the bad lines sent, each once.
    const letters: string[] = [];
    const reader = await broker.js.consumers.get(settings.dead_letter_stream, {
      deliver_policy: DeliverPolicy.All,
    });
    const info = await broker.jsm.streams.info(settings.dead_letter_stream);
    if (info.state.messages > 0) {
      const iter = await reader.consume();
      for await (const m of iter) {
        const row = decodeDeadLetter(m.string());
        letters.push(row?.original ?? `not a letter: ${m.string()}`);
        if (m.seq >= info.state.last_seq) break;
      }
    }
    assert.equal(letters.length, badLines.size);
    assert.deepEqual(new Set(letters), badLines);

    const redelivered = [...es.arrivals.values()].filter((n) => n > 1).length;
    t.diagnostic(
      `${HTTP_EVENTS + TCP_EVENTS} events (${badLines.size} bad) in ${loadMs} ms, drained at ${Date.now() - started} ms; ` +
        `killed stream leader ${killedNode} and a worker; ${retriedBatches} HTTP batches resent; ` +
        `${redelivered} documents reached the bulk server more than once (stored once)`,
    );

    // A clean stop: workers settle what they hold, receivers drain; each exits 0.
    const codes = await Promise.all([...workers, ...receivers].map(stopCli));
    assert.deepEqual(codes, [0, 0, 0, 0, 0]);
  });
});

import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { connect, type Socket } from "node:net";
import { connect as tlsConnect, type TLSSocket } from "node:tls";
import type { EventStore } from "../src/store/store.ts";
import { retryDelay } from "../src/server/inputs/tcp.ts";
import { REPO_ROOT } from "./helpers.ts";
import {
  eventLines,
  eventually,
  metricValue,
  scalar,
  startTestServer,
  TLS_CERT,
  TLS_KEY,
  type TestServer,
} from "./server-helpers.ts";

const TLS_DIR = join(REPO_ROOT, "test", "fixtures", "tls");
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** The real store, whose writes throw for `outageMs` from the first one (a disk that is full for a while). */
function outageStore(store: EventStore, outageMs: number): EventStore & { failures: () => number } {
  let recoverAt: number | undefined;
  let failures = 0;
  return {
    name: store.name,
    failures: () => failures,
    async write(batch) {
      recoverAt ??= Date.now() + outageMs;
      if (Date.now() < recoverAt) {
        failures++;
        throw new Error("IO Error: No space left on device");
      }
      return store.write(batch);
    },
    query: (sql, options) => store.query(sql, options),
    close: () => store.close(),
  };
}

function open(port: number, localAddress = "127.0.0.1"): Promise<Socket> {
  const socket = connect({ host: "127.0.0.1", port, localAddress });
  return new Promise((resolve, reject) => {
    socket.once("connect", () => resolve(socket));
    socket.once("error", reject);
  });
}

function closed(socket: Socket): Promise<void> {
  return new Promise((resolve) => {
    if (socket.destroyed) resolve();
    else socket.once("close", () => resolve());
  });
}

async function metric(server: TestServer, sample: string): Promise<number> {
  return metricValue(await server.handle.metrics.registry.metrics(), sample) ?? 0;
}

async function count(server: TestServer, sql: string): Promise<number> {
  return Number(await scalar(server, sql));
}

describe("TCP through a store outage", () => {
  it("pauses the socket while the store fails, retries, and stores every event exactly once", async () => {
    let store: ReturnType<typeof outageStore> | undefined;
    const server = await startTestServer({ udp: "off", http: "off" }, (real) => {
      store = outageStore(real, 2500);
      return store;
    });
    try {
      // About 9 MB: more than the kernel's socket buffers on both ends hold, so a paused reader
      // makes the sender's own writes back up.
      const total = 3000;
      const padding = "x".repeat(3000);
      const lines = Array.from({ length: total }, (_, i) =>
        JSON.stringify({
          event: "file_open",
          hostname: "host-outage",
          timestamp: "2026-01-01T00:00:00.000000+00:00",
          tanium_computer_id: "1000000001",
          fields: { full_path: `/tmp/outage/file-${i}.txt`, padding },
        }),
      );
      const socket = await open(server.tcpPort);
      let writeRefused = false;
      for (const line of lines) if (!socket.write(`${line}\n`)) writeRefused = true;
      socket.end();
      // Mid-outage: the server stopped reading, and the sender still holds what it wrote.
      await eventually(() => (store?.failures() ?? 0) > 0);
      await sleep(1200);
      const receivedMid = await metric(server, 'tanium_ecs_received_total{input="tcp"}');
      assert.ok(writeRefused, "socket.write returned false: the sender was pushed back");
      assert.ok(
        socket.writableLength > 0,
        `the sender's writes are backed up (${socket.writableLength} bytes)`,
      );
      assert.ok(receivedMid < total, `the server stopped reading (${receivedMid} of ${total} read)`);
      await sleep(300);
      assert.equal(
        await metric(server, 'tanium_ecs_received_total{input="tcp"}'),
        receivedMid,
        "nothing more was read while the store failed",
      );

      await closed(socket);
      await eventually(
        async () =>
          (await count(server, `SELECT count(*) FROM events WHERE "host.name" = 'host-outage'`)) === total,
        60_000,
      );
      assert.equal(
        await count(
          server,
          `SELECT count(DISTINCT "event.id") FROM events WHERE "host.name" = 'host-outage'`,
        ),
        total,
      );
      assert.equal(await count(server, "SELECT count(*) FROM dead_letters"), 0);
      assert.ok(store!.failures() >= 2, `the store failed ${store!.failures()} times`);
      assert.ok(server.logs.some((l) => l.msg === "store write failed: connection paused, retrying"));
      assert.ok(!server.logs.some((l) => String(l.msg).includes("lost")));
    } finally {
      await server.stop();
    }
  });

  it("stops within --drain-timeout when the store never recovers, and counts what it loses", async () => {
    const server = await startTestServer({ udp: "off", http: "off", "drain-timeout": "2" }, (real) =>
      outageStore(real, 3_600_000),
    );
    const socket = await open(server.tcpPort);
    socket.on("error", () => {});
    socket.write(eventLines(10, "doomed").join("\n") + "\n");
    await eventually(() =>
      server.logs.some((l) => l.msg === "store write failed: connection paused, retrying"),
    );
    const started = Date.now();
    await server.stop();
    const ms = Date.now() - started;
    assert.ok(ms < 2000 + 1500, `stopped in ${ms} ms`);
    assert.equal(await metric(server, "tanium_ecs_tcp_lost_total"), 10);
    assert.ok(
      server.logs.some(
        (l) => l.msg === "store write still failing at the stop deadline: these events are lost",
      ),
    );
  });

  it("backs off exponentially with full jitter, capped", () => {
    const top = (attempt: number): number => retryDelay(attempt, () => 1);
    assert.deepEqual([0, 1, 2, 3, 4, 5, 6, 30].map(top), [100, 200, 400, 800, 1600, 3200, 5000, 5000]);
    assert.equal(
      retryDelay(3, () => 0),
      0,
    );
    assert.equal(
      retryDelay(3, () => 0.5),
      400,
    );
  });
});

describe("TCP admission", () => {
  it("caps connections per source address; another address still gets in and is stored", async () => {
    const server = await startTestServer({
      udp: "off",
      "max-connections": "6",
      "max-connections-per-source": "3",
    });
    try {
      const greedy = await Promise.all([1, 2, 3, 4, 5].map(() => open(server.tcpPort, "127.0.0.1")));
      for (const socket of greedy) socket.on("error", () => {});
      // Two past the cap are closed by the server.
      await eventually(() => greedy.filter((s) => s.destroyed || s.readableEnded).length === 2);
      assert.equal(await metric(server, "tanium_ecs_tcp_connections_refused_total"), 2);

      const other = await open(server.tcpPort, "127.0.0.2");
      other.end(eventLines(5, "second-source").join("\n") + "\n");
      await eventually(
        async () =>
          (await count(server, `SELECT count(*) FROM events WHERE "host.name" = 'host-second-source'`)) === 5,
      );
      for (const socket of greedy) socket.destroy();
    } finally {
      await server.stop();
    }
  });

  it("when the table is full, closes the connection idle the longest to let a newcomer in", async () => {
    const server = await startTestServer({ udp: "off", "max-connections": "4" });
    try {
      const idle: Socket[] = [];
      for (let i = 0; i < 4; i++) {
        idle.push(await open(server.tcpPort, `127.0.0.${10 + i}`));
        await sleep(50);
      }
      for (const socket of idle) socket.on("error", () => {});
      // Past the eviction grace (1 s), the first one is the idlest.
      await sleep(1300);
      const newcomer = await open(server.tcpPort, "127.0.0.20");
      newcomer.end(eventLines(3, "newcomer").join("\n") + "\n");
      await eventually(
        async () =>
          (await count(server, `SELECT count(*) FROM events WHERE "host.name" = 'host-newcomer'`)) === 3,
      );
      await closed(idle[0]!);
      assert.deepEqual(
        idle.map((s) => s.destroyed || s.readableEnded),
        [true, false, false, false],
      );
      for (const socket of idle) socket.destroy();
    } finally {
      await server.stop();
    }
  });

  it("closes connections from senders outside --allow and counts them", async () => {
    const server = await startTestServer({ udp: "off", allow: "10.0.0.0/8,127.0.0.2/32" });
    try {
      const outsider = await open(server.tcpPort, "127.0.0.1");
      outsider.on("error", () => {});
      outsider.write(eventLines(2, "outsider").join("\n") + "\n");
      await closed(outsider);
      assert.equal(await metric(server, 'tanium_ecs_denied_total{input="tcp"}'), 1);

      const insider = await open(server.tcpPort, "127.0.0.2");
      insider.end(eventLines(2, "insider").join("\n") + "\n");
      await eventually(
        async () =>
          (await count(server, `SELECT count(*) FROM events WHERE "host.name" = 'host-insider'`)) === 2,
      );
      assert.equal(await count(server, `SELECT count(*) FROM events WHERE "host.name" = 'host-outsider'`), 0);
    } finally {
      await server.stop();
    }
  });
});

describe("TCP with mutual TLS (--tls-ca)", () => {
  const tlsOpen = (port: number, cert?: string, key?: string): Promise<TLSSocket> => {
    const socket = tlsConnect({
      host: "127.0.0.1",
      port,
      ca: readFileSync(TLS_CERT),
      servername: "localhost",
      ...(cert === undefined ? {} : { cert: readFileSync(join(TLS_DIR, cert)) }),
      ...(key === undefined ? {} : { key: readFileSync(join(TLS_DIR, key)) }),
    });
    return new Promise((resolve, reject) => {
      socket.once("secureConnect", () => resolve(socket));
      socket.once("error", reject);
    });
  };

  /** Writes lines and ends; resolves with the error the connection met, if any. */
  const sendOver = async (socket: TLSSocket, lines: string[]): Promise<Error | undefined> => {
    let error: Error | undefined;
    socket.on("error", (err) => (error = err));
    socket.end(lines.join("\n") + "\n");
    await closed(socket);
    return error;
  };

  it("accepts a client whose certificate the CA signed, refuses one without or with another", async () => {
    const server = await startTestServer({
      udp: "off",
      "tls-cert": TLS_CERT,
      "tls-key": TLS_KEY,
      "tls-ca": join(TLS_DIR, "ca.pem"),
    });
    try {
      const good = await tlsOpen(server.tcpPort, "client-cert.pem", "client-key.pem");
      assert.equal(await sendOver(good, eventLines(3, "mtls-good")), undefined);
      await eventually(
        async () =>
          (await count(server, `SELECT count(*) FROM events WHERE "host.name" = 'host-mtls-good'`)) === 3,
      );

      // TLS 1.3: the client's handshake ends before the server checks its certificate; the
      // server then closes the connection, and nothing sent over it is read.
      for (const [tag, cert, key] of [
        ["mtls-none", undefined, undefined],
        ["mtls-rogue", "rogue-cert.pem", "rogue-key.pem"],
      ] as const) {
        const outcome = await tlsOpen(server.tcpPort, cert, key).then(
          async (socket) => {
            socket.on("error", () => {});
            // We never end it: only the server can close it (its idle timeout is 300 s).
            socket.write(eventLines(3, tag).join("\n") + "\n");
            const timer = sleep(5000).then(() => "still open");
            return Promise.race([closed(socket).then(() => "closed by the server"), timer]);
          },
          () => "closed by the server",
        );
        assert.equal(outcome, "closed by the server", tag);
      }
      assert.equal(
        server.logs.filter((l) => String(l.msg).includes("client certificate signed by --tls-ca")).length,
        2,
      );
      await sleep(300);
      assert.equal(
        await count(server, `SELECT count(*) FROM events WHERE "host.name" LIKE 'host-mtls-%'`),
        3,
      );
    } finally {
      await server.stop();
    }
  });
});

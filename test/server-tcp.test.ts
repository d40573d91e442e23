import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { connect, type Socket } from "node:net";
import { connect as tlsConnect } from "node:tls";
import {
  eventLine,
  eventLines,
  eventually,
  metricValue,
  scalar,
  slowStore,
  startTestServer,
  TLS_CERT,
  TLS_KEY,
  type TestServer,
} from "./server-helpers.ts";

const octet = (message: string): string => `${Buffer.byteLength(message)} ${message}`;
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

async function open(port: number): Promise<Socket> {
  const socket = connect({ host: "127.0.0.1", port });
  await new Promise<void>((resolve, reject) => {
    socket.once("connect", resolve);
    socket.once("error", reject);
  });
  return socket;
}

function closed(socket: Socket): Promise<void> {
  return new Promise((resolve) => {
    if (socket.destroyed) resolve();
    else socket.once("close", () => resolve());
  });
}

/** Writes each piece (waiting `gapMs` between them), then ends the connection. */
async function send(port: number, pieces: readonly (string | Buffer)[], gapMs = 0): Promise<void> {
  const socket = await open(port);
  for (const piece of pieces) {
    socket.write(piece);
    if (gapMs > 0) await sleep(gapMs);
  }
  socket.end();
  await closed(socket);
}

async function count(server: TestServer, where: string): Promise<number> {
  return Number(await scalar(server, `SELECT count(*) FROM events WHERE ${where}`));
}

async function stored(server: TestServer, where: string, expected: number): Promise<void> {
  await eventually(async () => (await count(server, where)) === expected);
}

describe("TCP input", () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer({ "max-line-bytes": "1024", "max-connections": "4", "idle-timeout": "1" });
  });
  after(() => server.stop());

  it("reads newline-delimited events, \\r\\n or \\n", async () => {
    await send(server.tcpPort, [`${eventLine(1, "nl")}\r\n${eventLine(2, "nl")}\n${eventLine(3, "nl")}`]);
    // The last line has no newline: the end of the connection ends it.
    await stored(server, `"host.name" = 'host-nl'`, 3);
  });

  it("reads RFC 6587 octet-counted frames with RFC 5424 and RFC 3164 headers, stripped by the decoder", async () => {
    const rfc5424 = `<134>1 2026-01-01T00:00:00.000Z tanium01 connect - - - ${eventLine(1, "octet")}`;
    const rfc3164 = `<134>Jan  1 00:00:00 tanium01 connect: ${eventLine(2, "octet")}`;
    const withSd = `<134>1 2026-01-01T00:00:00Z tanium01 connect 4321 ID47 [origin ip="10.0.0.9"] ${eventLine(3, "octet")}`;
    await send(server.tcpPort, [octet(rfc5424) + octet(rfc3164) + "\n" + octet(withSd)]);
    await stored(server, `"host.name" = 'host-octet'`, 3);
    const paths = await server.handle.store.query(
      `SELECT "file.path" FROM events WHERE "host.name" = 'host-octet' ORDER BY 1`,
    );
    assert.deepEqual(paths.rows, [
      ["/tmp/octet/file-1.txt"],
      ["/tmp/octet/file-2.txt"],
      ["/tmp/octet/file-3.txt"],
    ]);
  });

  it("frames the same whether writes are split byte by byte or coalesced", async () => {
    const split = Buffer.from(eventLines(2, "split").map(octet).join(""));
    const pieces: Buffer[] = [];
    for (let i = 0; i < split.length; i += 7) pieces.push(split.subarray(i, i + 7));
    await send(server.tcpPort, pieces, 1);
    await stored(server, `"host.name" = 'host-split'`, 2);
    await send(server.tcpPort, [eventLines(50, "coalesced").join("\n") + "\n"]);
    await stored(server, `"host.name" = 'host-coalesced'`, 50);
  });

  it("skips a frame over the cap as a dead letter and keeps the connection working", async () => {
    const socket = await open(server.tcpPort);
    const input = `tcp:127.0.0.1:${socket.localPort}`;
    socket.write(octet(`{"event":"file_open","padding":"${"x".repeat(5000)}"}`));
    socket.write(octet(eventLine(1, "after-big")));
    await stored(server, `"host.name" = 'host-after-big'`, 1);
    socket.write(octet(eventLine(2, "after-big")));
    await stored(server, `"host.name" = 'host-after-big'`, 2);
    socket.end();
    await closed(socket);
    const rows = await server.handle.store.query(
      `SELECT code, length(original) <= 1024 FROM dead_letters WHERE input = '${input}'`,
    );
    assert.deepEqual(rows.rows, [["ERR_LINE_TOO_LONG", true]]);
  });

  it("closes a connection idle past --idle-timeout", async () => {
    const socket = await open(server.tcpPort);
    const started = Date.now();
    await closed(socket);
    const elapsed = Date.now() - started;
    assert.ok(elapsed >= 900 && elapsed < 5000, `closed after ${elapsed} ms`);
  });

  it("does not let a slow client, holding half a frame, hold up another client", async () => {
    const slow = await open(server.tcpPort);
    slow.write(`120 <134>1 2026-01-01T00:00:00Z h app - - - {"event":`);
    await send(server.tcpPort, [eventLines(3, "fast").join("\n")]);
    await stored(server, `"host.name" = 'host-fast'`, 3);
    assert.equal(slow.destroyed, false);
    slow.destroy();
  });

  it("refuses connections past --max-connections and counts them", async () => {
    const held = await Promise.all([1, 2, 3, 4].map(() => open(server.tcpPort)));
    // Busy (they just sent a blank line), so none is idle enough to be closed to make room.
    for (const socket of held) socket.write("\n");
    await sleep(100);
    const extra = connect({ host: "127.0.0.1", port: server.tcpPort });
    extra.on("error", () => {});
    await closed(extra);
    const text = await server.handle.metrics.registry.metrics();
    assert.equal(metricValue(text, "tanium_ecs_tcp_connections_refused_total"), 1);
    for (const socket of held) socket.destroy();
    await Promise.all(held.map(closed));
    // Room again once they are gone.
    await eventually(async () => {
      await send(server.tcpPort, [eventLine(1, "after-max") + "\n"]);
      return (await count(server, `"host.name" = 'host-after-max'`)) === 1;
    });
  });

  it("stores what fails normalize as a dead letter named after the connection", async () => {
    const socket = await open(server.tcpPort);
    const input = `tcp:127.0.0.1:${socket.localPort}`;
    socket.end("this is not json\n");
    await closed(socket);
    await eventually(
      async () =>
        Number(await scalar(server, `SELECT count(*) FROM dead_letters WHERE input = '${input}'`)) === 1,
    );
  });
});

describe("TCP back-pressure", () => {
  it("pauses connections while the queue is full and loses nothing", async () => {
    const server = await startTestServer(
      { "queue-max": "20", "batch-max": "20", "max-connection-bytes": "4096" },
      (store) => slowStore(store, 50),
    );
    try {
      const lines = eventLines(600, "pressure");
      const other = eventLines(100, "pressure2");
      await Promise.all([
        send(
          server.tcpPort,
          lines.map((l) => `${l}\n`),
        ),
        send(server.tcpPort, [other.join("\n")]),
      ]);
      await eventually(
        async () => (await count(server, `"host.name" LIKE 'host-pressure%'`)) === 700,
        20_000,
      );
      assert.ok(
        server.logs.some((l) => l.msg === "back-pressure: connection paused"),
        "the queue filled and connections were paused",
      );
    } finally {
      await server.stop();
    }
  });
});

describe("TCP over TLS", () => {
  it("reads events over TLS with the test certificate", async () => {
    const server = await startTestServer({ "tls-cert": TLS_CERT, "tls-key": TLS_KEY, udp: "off" });
    try {
      const socket = tlsConnect({
        host: "127.0.0.1",
        port: server.tcpPort,
        ca: readFileSync(TLS_CERT),
        servername: "localhost",
      });
      await new Promise<void>((resolve, reject) => {
        socket.once("secureConnect", resolve);
        socket.once("error", reject);
      });
      socket.end(eventLines(2, "tls").map(octet).join(""));
      await new Promise<void>((resolve) => socket.once("close", () => resolve()));
      await stored(server, `"host.name" = 'host-tls'`, 2);
    } finally {
      await server.stop();
    }
  });
});

import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { createSocket } from "node:dgram";
import { eventLine, eventually, metricValue, scalar, slowStore, startTestServer } from "./server-helpers.ts";

async function sendDatagrams(port: number, messages: readonly string[]): Promise<number> {
  const socket = createSocket("udp4");
  try {
    for (const message of messages) {
      await new Promise<void>((resolve, reject) =>
        socket.send(message, port, "127.0.0.1", (err) => (err ? reject(err) : resolve())),
      );
    }
    return socket.address().port;
  } finally {
    socket.close();
  }
}

describe("UDP input", () => {
  it("takes one datagram as one event, trailing newline trimmed, syslog header left to the decoder", async () => {
    const server = await startTestServer();
    try {
      const from = await sendDatagrams(server.udpPort, [
        `${eventLine(1, "udp")}\n`,
        `<134>Jan  1 00:00:00 tanium01 connect: ${eventLine(2, "udp")}\r\n`,
        "not an event",
      ]);
      await eventually(
        async () =>
          Number(await scalar(server, `SELECT count(*) FROM events WHERE "host.name" = 'host-udp'`)) === 2,
      );
      await eventually(
        async () =>
          Number(
            await scalar(server, `SELECT count(*) FROM dead_letters WHERE input = 'udp:127.0.0.1:${from}'`),
          ) === 1,
      );
    } finally {
      await server.stop();
    }
  });

  it("drops datagrams while the queue is full, and counts every one it drops", async () => {
    const server = await startTestServer({ "queue-max": "1", "batch-ms": "0" }, (store) =>
      slowStore(store, 200),
    );
    try {
      await sendDatagrams(
        server.udpPort,
        Array.from({ length: 40 }, (_, i) => eventLine(i, "flood")),
      );
      const metrics = (): Promise<string> => server.handle.metrics.registry.metrics();
      // 40 small datagrams on loopback: the kernel keeps them all; then wait for the commits.
      await eventually(
        async () => metricValue(await metrics(), 'tanium_ecs_received_total{input="udp"}') === 40,
      );
      await eventually(async () => metricValue(await metrics(), "tanium_ecs_queue_depth") === 0, 10_000);
      const text = await metrics();
      const received = metricValue(text, 'tanium_ecs_received_total{input="udp"}') ?? 0;
      const dropped = metricValue(text, "tanium_ecs_udp_dropped_total") ?? 0;
      const kept = Number(
        await scalar(server, `SELECT count(*) FROM events WHERE "host.name" = 'host-flood'`),
      );
      assert.ok(dropped > 0, "some datagrams were dropped");
      assert.ok(kept > 0, "some datagrams were stored");
      // Nothing vanishes unaccounted for: each datagram read is stored or counted as dropped.
      assert.equal(kept + dropped, received);
      assert.ok(server.logs.some((l) => l.level === 40 && String(l.msg).includes("UDP datagrams dropped")));
    } finally {
      await server.stop();
    }
  });
});

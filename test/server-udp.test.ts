import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { createSocket } from "node:dgram";
import { eventLine, eventually, metricValue, scalar, slowStore, startTestServer } from "./server-helpers.ts";

/** Sends every message at once (no wait between them): a burst. Resolves when all are sent. */
async function burst(port: number, messages: readonly string[]): Promise<void> {
  const socket = createSocket("udp4");
  try {
    await Promise.all(
      messages.map(
        (message) =>
          new Promise<void>((resolve, reject) =>
            socket.send(message, port, "127.0.0.1", (err) => (err ? reject(err) : resolve())),
          ),
      ),
    );
  } finally {
    socket.close();
  }
}

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

  it("counts the kernel's drops: a burst into a tiny receive buffer is stored or counted, every datagram", async () => {
    const server = await startTestServer({ "udp-receive-buffer": "4096", http: "off", tcp: "off" });
    try {
      const granted = server.logs.find((l) => l.input === "udp" && "receive_buffer_granted" in l);
      assert.ok(granted !== undefined, "the granted receive buffer is logged");
      const sent = 20_000;
      await burst(
        server.udpPort,
        Array.from({ length: sent }, (_, i) => eventLine(i, "burst")),
      );
      const metrics = (): Promise<string> => server.handle.metrics.registry.metrics();
      const stored = async (): Promise<number> =>
        Number(await scalar(server, `SELECT count(*) FROM events WHERE "host.name" = 'host-burst'`));
      let last = "";
      await eventually(async () => {
        const text = await metrics();
        const dropped = metricValue(text, "tanium_ecs_udp_dropped_total") ?? 0;
        const kept = await stored();
        last = `${kept} stored + ${dropped} dropped of ${sent}`;
        return kept + dropped === sent && metricValue(text, "tanium_ecs_queue_depth") === 0;
      }, 30_000).catch(() => assert.fail(last));
      const dropped = metricValue(await metrics(), "tanium_ecs_udp_dropped_total") ?? 0;
      // A 4 KiB buffer cannot hold a burst of 20,000: the kernel dropped, and we counted it.
      assert.ok(dropped > 0, last);
    } finally {
      await server.stop();
    }
  });

  it("drops datagrams from senders outside --allow, and counts them", async () => {
    const server = await startTestServer({ allow: "10.0.0.0/8", http: "off", tcp: "off" });
    try {
      await sendDatagrams(server.udpPort, [eventLine(1, "udp-outsider"), eventLine(2, "udp-outsider")]);
      const metrics = (): Promise<string> => server.handle.metrics.registry.metrics();
      await eventually(
        async () => metricValue(await metrics(), 'tanium_ecs_denied_total{input="udp"}') === 2,
      );
      assert.equal(metricValue(await metrics(), 'tanium_ecs_received_total{input="udp"}') ?? 0, 0);
      assert.equal(
        Number(await scalar(server, `SELECT count(*) FROM events WHERE "host.name" = 'host-udp-outsider'`)),
        0,
      );
    } finally {
      await server.stop();
    }
  });
});

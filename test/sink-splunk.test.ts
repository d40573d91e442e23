import { describe, it, type TestContext } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { createServer } from "node:net";
import { pino, type Logger } from "pino";
import type { EcsDocument } from "../src/ecs/document.ts";
import { outEvent, type OutEvent } from "../src/delivery/event.ts";
import { SinkError, type EventSink, type Settlement } from "../src/delivery/sink.ts";
import { splunkHecSettings, splunkHecSink, type SplunkHecSettings } from "../src/delivery/splunk/index.ts";
import { FakeSplunk, type FakeSplunkOptions } from "./support/fake-splunk.ts";
import { TLS_CERT, TLS_KEY } from "./server-helpers.ts";
import { countingMetrics, type SinkCounts } from "./support/sink-metrics.ts";

const T0 = Date.parse("2026-03-01T10:00:00.123Z");

function doc(n: number, tag: string, host: string | null = `host-${n % 7}`): EcsDocument {
  return {
    "@timestamp": new Date(T0 + n * 1001).toISOString(),
    message: `${tag} ${n}`,
    ecs: { version: "9.4.0" },
    event: { kind: "event", id: `${tag}-${n}`, dataset: "tanium.recorder", module: "tanium" },
    ...(host === null ? {} : { host: { name: host } }),
  };
}

function events(count: number, tag = "e"): OutEvent[] {
  return Array.from({ length: count }, (_, n) => outEvent(doc(n, tag)));
}

function captureLogger(): { logger: Logger; lines: string[] } {
  const lines: string[] = [];
  const logger = pino({ level: "debug" }, { write: (line: string) => void lines.push(line) });
  return { logger, lines };
}

interface Harness {
  fake: FakeSplunk;
  sink: EventSink;
  counts: SinkCounts;
  lines: string[];
}

/** A fake HEC and a sink on it (fast timings unless told), both closed when the test ends. */
async function harness(
  t: TestContext,
  fakeOptions: FakeSplunkOptions = {},
  settings: Partial<Record<keyof SplunkHecSettings, unknown>> = {},
): Promise<Harness> {
  const fake = await new FakeSplunk(fakeOptions).start();
  const { metrics, counts } = countingMetrics();
  const { logger, lines } = captureLogger();
  const parsed = splunkHecSettings.parse({
    url: fake.url,
    token: fake.token,
    ack: fakeOptions.acks ?? false,
    ack_poll_interval: 20,
    retry_max_wait: 0.2,
    request_timeout: 2,
    ...settings,
  });
  const sink = splunkHecSink("splunk", parsed, { logger, metrics });
  t.after(async () => {
    await sink.close();
    await fake.close();
  });
  return { fake, sink, counts, lines };
}

const delivered = (settlements: readonly Settlement[]): number =>
  settlements.filter((s) => s.status === "delivered").length;

async function eventually(check: () => boolean, ms = 5000): Promise<void> {
  const until = Date.now() + ms;
  while (!check()) {
    if (Date.now() > until) throw new Error("condition not met in time");
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

describe("splunk_hec settings", () => {
  it("has the documented defaults and requires url and token", () => {
    const s = splunkHecSettings.parse({ url: "https://splunk:8088", token: "t" });
    assert.equal(s.source, "tanium-ecs");
    assert.equal(s.sourcetype, "tanium:ecs");
    assert.equal(s.host_field, "event");
    assert.equal(s.ack, false);
    assert.equal(s.ack_timeout, 120);
    assert.equal(s.ack_poll_interval, 500);
    assert.equal(s.max_batch_events, 500);
    assert.equal(s.max_batch_bytes, 1024 * 1024);
    assert.equal(s.max_in_flight, 2);
    assert.equal(s.request_timeout, 30);
    assert.equal(s.compression, true);
    assert.equal(s.retry_max_wait, 60);
    assert.equal(s.index, undefined);
    assert.equal(splunkHecSettings.safeParse({ url: "https://splunk:8088" }).success, false);
    assert.equal(splunkHecSettings.safeParse({ token: "t" }).success, false);
    assert.equal(splunkHecSettings.safeParse({ url: "ftp://splunk", token: "t" }).success, false);
  });
});

describe("splunk_hec events", () => {
  it("posts batches of concatenated objects with the token, time, host, source, sourcetype, index and event.id", async (t) => {
    const { fake, sink, counts } = await harness(t, {}, { index: "tanium", max_batch_events: 500 });
    await sink.start();
    const batch = events(1200);
    const settlements = await sink.deliver(batch);
    assert.equal(delivered(settlements), 1200);
    assert.equal(counts.delivered, 1200);
    assert.deepEqual(
      [...fake.stats.requestSizes].sort((a, b) => a - b),
      [200, 500, 500],
    );
    assert.equal(fake.stats.gzipRequests, 3, "gzip by default");
    assert.equal(fake.entries.length, 1200);
    const first = fake.entries.find((e) => e.fields?.["event.id"] === "e-0");
    assert.ok(first !== undefined);
    assert.equal(first.time, 1772359200.123);
    assert.equal(first.host, "host-0");
    assert.equal(first.source, "tanium-ecs");
    assert.equal(first.sourcetype, "tanium:ecs");
    assert.equal(first.index, "tanium");
    assert.deepEqual(first.fields, { "event.id": "e-0" });
    assert.deepEqual(first.event, JSON.parse(batch[0]?.json ?? ""));
    const texts = new Map(batch.map((e) => [e.id, e.json]));
    for (const entry of fake.entries) {
      assert.equal(entry.eventText, texts.get(String(entry.fields?.["event.id"])), "the ECS text as it is");
    }
  });

  it("splices the event's JSON text in without parsing it again", async (t) => {
    const { fake, sink } = await harness(t, {}, { compression: false, host_field: "omit" });
    // Text a re-serialization would change (spacing, 1.50): it must arrive byte for byte.
    const json = '{"@timestamp": "2026-03-01T10:00:00.000Z", "n": 1.50, "event": {"id": "x"}}';
    const settlements = await sink.deliver([
      { id: "x", json, dataset: "tanium.recorder", timestamp: Date.parse("2026-03-01T10:00:00Z"), host: "h" },
      { id: "y", json: '{"a":1}', dataset: "", timestamp: undefined, host: undefined },
    ]);
    assert.equal(delivered(settlements), 2);
    assert.equal(fake.stats.gzipRequests, 0, "compression: false sends plain JSON");
    assert.equal(fake.entries[0]?.eventText, json);
    assert.equal(fake.entries[0]?.host, undefined, "host_field: omit");
    assert.equal(fake.entries[1]?.time, undefined, "no @timestamp: no time (HEC uses its own)");
  });

  it("leaves host out when the event has none, and keeps requests under max_batch_bytes", async (t) => {
    const { fake, sink } = await harness(t, {}, { max_batch_bytes: 4096 });
    const batch = [outEvent(doc(1, "nohost", null)), ...events(40)];
    const settlements = await sink.deliver(batch);
    assert.equal(delivered(settlements), 41);
    assert.equal(fake.entries.find((e) => e.fields?.["event.id"] === "nohost-1")?.host, undefined);
    assert.equal(fake.entries.find((e) => e.fields?.["event.id"] === "e-1")?.host, "host-1");
    assert.ok(fake.stats.requestSizes.length > 1);
    assert.ok(Math.max(...fake.stats.requestBytes) <= 4096, "no body over max_batch_bytes");
    assert.equal(fake.entries.length, 41);
  });
});

describe("splunk_hec answers", () => {
  it("backs off on 503 code 9 (honouring Retry-After), 500 and 429, then delivers", async (t) => {
    const { fake, sink, counts } = await harness(t, { busyRetryAfter: "1" }, { retry_max_wait: 5 });
    fake.faults.push("busy", "server-error", "throttled");
    const began = Date.now();
    const settlements = await sink.deliver(events(10));
    assert.equal(delivered(settlements), 10);
    assert.ok(Date.now() - began >= 1900, "waited the second of each Retry-After (503, 429)");
    assert.equal(counts.retried, 30);
    assert.equal(fake.entries.length, 10);
    assert.equal(sink.health().ok, true, "health recovers once a request succeeds");
    assert.match(sink.health().lastError ?? "", /429/);
  });

  it("invalid-event-number N: events before N delivered, N rejected with HEC's text, the rest sent again", async (t) => {
    const { fake, sink, counts } = await harness(t, {
      refuse: (event) => (event as { message?: string }).message === "e 3",
    });
    const settlements = await sink.deliver(events(10));
    assert.equal(settlements[3]?.status, "rejected");
    assert.match((settlements[3] as { reason: string }).reason, /Invalid data format/);
    assert.equal(delivered(settlements), 9);
    assert.deepEqual(fake.stats.requestSizes, [10, 6]);
    const counts2 = fake.idCounts();
    assert.equal(counts2.size, 9);
    assert.ok(
      [...counts2.values()].every((c) => c === 1),
      "nothing indexed twice",
    );
    assert.equal(counts.rejected, 1);
    assert.equal(counts.retried, 6);
  });

  it("a 400 naming no event: halves until the bad event is alone, and rejects it", async (t) => {
    const { fake, sink } = await harness(t, {
      refuse: (event) => (event as { message?: string }).message === "e 11",
      refuseWithNumber: false,
    });
    const settlements = await sink.deliver(events(16));
    assert.equal(settlements[11]?.status, "rejected");
    assert.equal(delivered(settlements), 15);
    assert.equal(fake.idCounts().size, 15);
    assert.ok([...fake.idCounts().values()].every((c) => c === 1));
    assert.ok(fake.stats.requestSizes.length <= 1 + 2 * 4, "a bisection, not one request per event");
  });

  it("an index the token may not write: the event is rejected with the reason", async (t) => {
    const { sink } = await harness(t, { indexes: ["main"] }, { index: "nope" });
    const settlements = await sink.deliver(events(1));
    assert.deepEqual(settlements, [{ status: "rejected", reason: "Splunk HEC: Incorrect index (code 7)" }]);
  });

  it("401/403: retried with backoff, health not ok, the log says the token was refused", async (t) => {
    const { fake, sink, lines } = await harness(t);
    await sink.start();
    const right = fake.token;
    fake.token = "changed";
    const delivery = sink.deliver(events(5));
    await eventually(() => !sink.health().ok);
    assert.match(sink.health().lastError ?? "", /the HEC token was refused/);
    assert.ok(sink.health().failingSince !== undefined);
    assert.ok(!(sink.health().lastError ?? "").includes(right), "no token in health");
    const logged = lines.filter((l) => l.includes("the HEC token was refused"));
    assert.equal(logged.length, 1, "logged once, not per retry");
    assert.match(logged[0] ?? "", /"level":50/);
    assert.ok(!logged[0]?.includes(right));
    fake.token = right;
    assert.equal(delivered(await delivery), 5);
    assert.equal(sink.health().ok, true);
  });

  it("a connection reset after indexing: the request is sent again (at least once)", async (t) => {
    const { fake, sink, counts } = await harness(t);
    fake.faults.push("reset-after-index");
    const settlements = await sink.deliver(events(20));
    assert.equal(delivered(settlements), 20);
    assert.equal(fake.entries.length, 40, "indexed twice: HEC has no idempotency key");
    assert.equal(fake.idCounts().size, 20);
    assert.equal(counts.retried, 20);
  });

  it("a slow answer past request_timeout: the request is sent again", async (t) => {
    const { fake, sink } = await harness(t, { slowMs: 3000 }, { request_timeout: 0.3 });
    fake.faults.push("slow");
    const began = Date.now();
    const settlements = await sink.deliver(events(3));
    assert.equal(delivered(settlements), 3);
    assert.ok(Date.now() - began < 2500, "did not wait for the slow answer");
    assert.equal(fake.idCounts().get("e-0"), 2);
  });
});

describe("splunk_hec indexer acknowledgement", () => {
  it("delivers only once acknowledged, on one channel, polling ids of several requests together", async (t) => {
    const { fake, sink } = await harness(
      t,
      { acks: true, ackDelayMs: 300 },
      { max_batch_events: 10, max_in_flight: 2 },
    );
    await sink.start();
    const began = Date.now();
    const settlements = await sink.deliver(events(60));
    assert.equal(delivered(settlements), 60);
    assert.ok(Date.now() - began >= 300, "not before the acks");
    assert.equal(fake.stats.channels.size, 1);
    assert.match(
      [...fake.stats.channels][0] ?? "",
      /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/,
    );
    assert.ok(fake.stats.largestAckPoll >= 2, `ack ids polled together (${fake.stats.largestAckPoll})`);
    assert.equal(fake.entries.length, 60);
  });

  it("an ack not true within ack_timeout: the request is sent again", async (t) => {
    const { fake, sink, counts } = await harness(t, { acks: true }, { ack_timeout: 0.3 });
    fake.faults.push("lose-ack");
    const began = Date.now();
    const settlements = await sink.deliver(events(5));
    assert.equal(delivered(settlements), 5);
    assert.ok(Date.now() - began >= 300);
    assert.equal(fake.idCounts().get("e-0"), 2);
    assert.equal(counts.retried, 5);
  });

  it("with acks, invalid-event-number: the unconfirmed events before N are sent again", async (t) => {
    const { fake, sink } = await harness(t, {
      acks: true,
      refuse: (event) => (event as { message?: string }).message === "e 2",
    });
    const settlements = await sink.deliver(events(5));
    assert.equal(settlements[2]?.status, "rejected");
    assert.equal(delivered(settlements), 4);
    assert.deepEqual(fake.stats.requestSizes, [5, 4]);
    assert.equal(fake.idCounts().get("e-0"), 2);
    assert.equal(fake.idCounts().get("e-4"), 1);
  });

  it("start fails clearly when acks are disabled on the token, or required by it", async (t) => {
    const off = await harness(t, { acks: false }, { ack: true });
    await assert.rejects(off.sink.start(), (err: unknown) => {
      assert.ok(err instanceof SinkError);
      assert.equal(err.code, "ack_disabled");
      assert.match(err.message, /ACK is disabled/);
      return true;
    });
    const on = await harness(t, { acks: true }, { ack: false });
    await assert.rejects(on.sink.start(), /set ack: true/);
  });
});

describe("splunk_hec start, health, close", () => {
  it("start checks health and the token without indexing anything", async (t) => {
    const { fake, sink } = await harness(t);
    await sink.start();
    assert.equal(fake.stats.emptyRequests, 1, "the empty batch (code 5) is the token check");
    assert.equal(fake.entries.length, 0);
    fake.healthy = false;
    await assert.rejects(sink.start(), { name: "SinkError", code: "unhealthy" });
  });

  it("a refused token fails start with the HEC token was refused", async (t) => {
    const { fake, sink } = await harness(t, {}, { token: "wrong-secret" });
    await assert.rejects(sink.start(), (err: unknown) => {
      assert.ok(err instanceof SinkError);
      assert.equal(err.code, "token_refused");
      assert.match(err.message, /the HEC token was refused/);
      assert.ok(!err.message.includes("wrong-secret"));
      return true;
    });
    assert.equal(fake.entries.length, 0);
  });

  it("an unreachable HEC fails start with the URL and no token", async () => {
    const free = createServer();
    await new Promise<void>((resolve) => free.listen(0, "127.0.0.1", resolve));
    const port = (free.address() as { port: number }).port;
    await new Promise((resolve) => free.close(resolve));
    const url = `http://127.0.0.1:${port}`;
    const sink = splunkHecSink("splunk", splunkHecSettings.parse({ url, token: "secret-token" }), {
      logger: captureLogger().logger,
      metrics: countingMetrics().metrics,
    });
    try {
      await assert.rejects(sink.start(), (err: unknown) => {
        assert.ok(err instanceof SinkError);
        assert.equal(err.code, "unreachable");
        assert.ok(err.message.includes(url), err.message);
        assert.ok(!err.message.includes("secret-token"));
        return true;
      });
    } finally {
      await sink.close();
    }
  });

  it("https with ca_file", async (t) => {
    const tls = { key: readFileSync(TLS_KEY, "utf8"), cert: readFileSync(TLS_CERT, "utf8") };
    const { fake, sink } = await harness(t, { tls }, { ca_file: TLS_CERT });
    assert.match(fake.url, /^https:/);
    await sink.start();
    assert.equal(delivered(await sink.deliver(events(3))), 3);
    const untrusted = await harness(t, { tls });
    await assert.rejects(untrusted.sink.start(), /unreachable/);
  });

  it("close ends a delivery retrying against a busy HEC: deliver rejects with SinkError", async (t) => {
    const { fake, sink } = await harness(t, {}, { retry_max_wait: 0.05 });
    for (let i = 0; i < 10_000; i++) fake.faults.push("busy");
    const delivery = sink.deliver(events(3));
    await eventually(() => fake.stats.eventRequests >= 2);
    assert.equal(sink.health().ok, false);
    const began = Date.now();
    const outcome = assert.rejects(delivery, { name: "SinkError", code: "closed" });
    await sink.close();
    await outcome;
    assert.ok(Date.now() - began < 2000);
    await assert.rejects(sink.deliver(events(1)), { code: "closed" });
  });

  it("an aborted signal ends a delivery", async (t) => {
    const { fake, sink } = await harness(t);
    for (let i = 0; i < 10_000; i++) fake.faults.push("busy");
    const controller = new AbortController();
    const delivery = sink.deliver(events(3), controller.signal);
    await eventually(() => fake.stats.eventRequests >= 1);
    controller.abort();
    await assert.rejects(delivery, { name: "SinkError", code: "aborted" });
  });
});

describe("splunk_hec under load with seeded faults", () => {
  for (const ack of [true, false]) {
    it(`20,000 events${ack ? " with acks" : ""}: every event indexed at least once with its event.id, every refused one rejected, none unsettled`, async (t) => {
      const refusedIds = new Set<string>();
      for (let n = 37; n < 20_000; n += 997) refusedIds.add(`load-${n}`);
      const { fake, sink, counts } = await harness(
        t,
        {
          acks: ack,
          seed: 7,
          slowMs: 600,
          rates: {
            busy: 0.08,
            "server-error": 0.03,
            "reset-after-index": 0.04,
            slow: 0.02,
            "lose-ack": 0.03,
          },
          refuse: (event) => refusedIds.has(String((event as { event?: { id?: string } }).event?.id)),
        },
        { ack_timeout: 0.5, request_timeout: 0.4, max_in_flight: 2 },
      );
      await sink.start();
      const batch = events(20_000, "load");
      const began = Date.now();
      // Several deliver calls at once, as the pipeline makes them.
      const parts = [0, 1, 2, 3].map((k) => batch.slice(k * 5000, (k + 1) * 5000));
      const settlements = (await Promise.all(parts.map((part) => sink.deliver(part)))).flat();
      const ms = Date.now() - began;
      assert.equal(settlements.length, 20_000);
      const ids = fake.idCounts();
      for (const [n, event] of batch.entries()) {
        const settlement = settlements[n];
        if (refusedIds.has(event.id)) {
          assert.equal(settlement?.status, "rejected", event.id);
          assert.match((settlement as { reason: string }).reason, /Invalid data format/);
          assert.equal(ids.get(event.id), undefined, "a refused event is never indexed");
        } else {
          assert.equal(settlement?.status, "delivered", event.id);
          assert.ok((ids.get(event.id) ?? 0) >= 1, `${event.id} indexed`);
        }
      }
      const duplicates = fake.entries.length - ids.size;
      assert.equal(counts.delivered, 20_000 - refusedIds.size);
      assert.equal(counts.rejected, refusedIds.size);
      assert.ok(fake.stats.injected.size >= 4, "the faults were exercised");
      t.diagnostic(
        `20000 events${ack ? " with acks" : ""} in ${ms} ms, ${fake.stats.eventRequests} requests, ${fake.stats.ackPolls} ack polls, ` +
          `${refusedIds.size} rejected, ${duplicates} duplicates indexed, ${counts.retried} events sent again, ` +
          `faults ${JSON.stringify(Object.fromEntries(fake.stats.injected))}`,
      );
    });
  }
});

// Against a real Splunk (the non-fault tests): TANIUM_ECS_TEST_SPLUNK_URL and
// TANIUM_ECS_TEST_SPLUNK_TOKEN (optional: _INDEX, _CA_FILE, _ACK=1 for a token with acks on).
const REAL_URL = process.env.TANIUM_ECS_TEST_SPLUNK_URL;
const REAL_TOKEN = process.env.TANIUM_ECS_TEST_SPLUNK_TOKEN;
describe(
  "splunk_hec against a real Splunk",
  { skip: REAL_URL === undefined || REAL_TOKEN === undefined },
  () => {
    const settings = (overrides: Record<string, unknown> = {}): SplunkHecSettings =>
      splunkHecSettings.parse({
        url: REAL_URL,
        token: REAL_TOKEN,
        ack: process.env.TANIUM_ECS_TEST_SPLUNK_ACK === "1",
        ...(process.env.TANIUM_ECS_TEST_SPLUNK_INDEX === undefined
          ? {}
          : { index: process.env.TANIUM_ECS_TEST_SPLUNK_INDEX }),
        ...(process.env.TANIUM_ECS_TEST_SPLUNK_CA_FILE === undefined
          ? {}
          : { ca_file: process.env.TANIUM_ECS_TEST_SPLUNK_CA_FILE }),
        ...overrides,
      });
    const context = () => ({ logger: captureLogger().logger, metrics: countingMetrics().metrics });

    it("starts and delivers 1,000 events", async () => {
      const sink = splunkHecSink("splunk", settings(), context());
      try {
        await sink.start();
        const settlements = await sink.deliver(events(1000, `real-${Date.now()}`));
        assert.equal(delivered(settlements), 1000);
      } finally {
        await sink.close();
      }
    });

    it("refuses a wrong token at start", async () => {
      const sink = splunkHecSink(
        "splunk",
        settings({ token: "00000000-0000-0000-0000-000000000000" }),
        context(),
      );
      try {
        await assert.rejects(sink.start(), { code: "token_refused" });
      } finally {
        await sink.close();
      }
    });
  },
);

/**
 * The Elasticsearch / OpenSearch sink against the fake in test/support (both products), and, for
 * the tests that need no fault, against a real cluster when TANIUM_ECS_TEST_ES_URL is set
 * (TANIUM_ECS_TEST_ES_API_KEY, or TANIUM_ECS_TEST_ES_USERNAME and _PASSWORD, for its credentials).
 */
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { pino } from "pino";
import { request } from "undici";
import type { OutEvent } from "../src/delivery/event.ts";
import {
  elasticsearchSettings,
  elasticsearchSink,
  type ElasticsearchSettingsInput,
} from "../src/delivery/elasticsearch/index.ts";
import type { SinkMetrics } from "../src/delivery/metrics.ts";
import { SinkError, type EventSink, type Settlement } from "../src/delivery/sink.ts";
import { FakeElasticsearch, type FakeOptions } from "./support/fake-elasticsearch.ts";
import { prng as seeded } from "../bench/generate.ts";
import { countingMetrics, type SinkCounts } from "./support/sink-metrics.ts";

const TLS_DIR = join(import.meta.dirname, "fixtures", "tls");
const REAL_URL = process.env.TANIUM_ECS_TEST_ES_URL;

/** The metrics a harness hands its sink, with what they counted beside them. */
function counters(): SinkMetrics & { counts: SinkCounts } {
  const { metrics, counts } = countingMetrics();
  return { ...metrics, counts };
}

let serial = 0;
function event(dataset = "tanium.recorder", extra: Record<string, unknown> = {}): OutEvent {
  const id = `${randomUUID()}-${serial++}`;
  const doc = {
    "@timestamp": "2025-06-01T12:00:00.000Z",
    event: { id, dataset },
    message: `event ${id}`,
    ...extra,
  };
  return { id, json: JSON.stringify(doc), dataset, timestamp: Date.parse(doc["@timestamp"]), host: "h1" };
}

interface Harness {
  sink: EventSink;
  metrics: ReturnType<typeof counters>;
  log: () => string;
}

const open: { close(): Promise<void> }[] = [];
after(async () => {
  for (const item of open.reverse()) await item.close();
});

function makeSink(url: string, settings: Partial<ElasticsearchSettingsInput> = {}): Harness {
  const metrics = counters();
  let text = "";
  const logger = pino({ level: "debug" }, { write: (line: string) => void (text += line) });
  const sink = elasticsearchSink("es", elasticsearchSettings.parse({ url, ...settings }), {
    logger,
    metrics,
  });
  open.push(sink);
  return { sink, metrics, log: () => text };
}

async function fake(options: FakeOptions = {}): Promise<{ es: FakeElasticsearch; url: string }> {
  const es = new FakeElasticsearch(options);
  const url = await es.listen();
  open.push(es);
  return { es, url };
}

/** What a test reads back from where the sink wrote: the fake's store or a real cluster's. */
interface Target {
  url: string;
  auth?: ElasticsearchSettingsInput["auth"];
  namespace: string;
  /** The stored documents of an index or data stream, by _id. */
  stored(index: string): Promise<Map<string, Record<string, unknown>>>;
}

async function target(): Promise<Target> {
  const namespace = `t${randomUUID().slice(0, 8)}`;
  if (REAL_URL === undefined) {
    const { es, url } = await fake();
    return { url, namespace, stored: async (index) => es.docs(index) };
  }
  const key = process.env.TANIUM_ECS_TEST_ES_API_KEY;
  const user = process.env.TANIUM_ECS_TEST_ES_USERNAME;
  const auth =
    key !== undefined
      ? { api_key: key }
      : user !== undefined
        ? { username: user, password: process.env.TANIUM_ECS_TEST_ES_PASSWORD ?? "" }
        : undefined;
  const headers: Record<string, string> = { "content-type": "application/json" };
  if (auth !== undefined) {
    headers.authorization =
      "api_key" in auth
        ? `ApiKey ${auth.api_key}`
        : `Basic ${Buffer.from(`${auth.username}:${auth.password}`).toString("base64")}`;
  }
  const base = REAL_URL.replace(/\/+$/, "");
  return {
    url: REAL_URL,
    auth,
    namespace,
    async stored(index) {
      await request(`${base}/${index}/_refresh`, { method: "POST", headers }).then((r) => r.body.dump());
      const answer = await request(`${base}/${index}/_search?size=10000`, {
        method: "POST",
        headers,
        body: "{}",
      });
      const body = (await answer.body.json()) as {
        hits?: { hits: { _id: string; _source: Record<string, unknown> }[] };
      };
      return new Map((body.hits?.hits ?? []).map((hit) => [hit._id, hit._source]));
    },
  };
}

function statuses(settlements: Settlement[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const s of settlements) out[s.status] = (out[s.status] ?? 0) + 1;
  return out;
}

describe("Elasticsearch sink: delivery (fake, or a real cluster by TANIUM_ECS_TEST_ES_URL)", () => {
  it("creates each event by _id in logs-<prefix>.<dataset>-<namespace>, with data_stream fields spliced in", async () => {
    const t = await target();
    const { sink, metrics } = makeSink(t.url, { auth: t.auth, namespace: t.namespace });
    await sink.start();
    const events = [
      event("tanium.recorder"),
      event("tanium.threat-response"),
      event(""),
      event("tanium.Recorder"),
    ];
    const settled = await sink.deliver(events);
    assert.deepEqual(statuses(settled), { delivered: 4 });
    assert.equal(metrics.counts.delivered, 4);
    const recorder = await t.stored(`logs-tanium_ecs.recorder-${t.namespace}`);
    assert.equal(recorder.size, 2);
    const doc = recorder.get(events[0]!.id);
    assert.deepEqual(doc?.data_stream, {
      type: "logs",
      dataset: "tanium_ecs.recorder",
      namespace: t.namespace,
    });
    assert.equal(doc?.message, `event ${events[0]!.id}`);
    assert.ok((await t.stored(`logs-tanium_ecs.threat_response-${t.namespace}`)).has(events[1]!.id));
    assert.ok((await t.stored(`logs-tanium_ecs.unknown-${t.namespace}`)).has(events[2]!.id));
  });

  it("writes into a fixed index without data_stream fields", async () => {
    const t = await target();
    const index = `tanium-ecs-test-${t.namespace}`;
    const { sink } = makeSink(t.url, { auth: t.auth, index });
    await sink.start();
    const events = [event(), event()];
    assert.deepEqual(statuses(await sink.deliver(events)), { delivered: 2 });
    const docs = await t.stored(index);
    assert.equal(docs.size, 2);
    assert.equal(docs.get(events[0]!.id)?.data_stream, undefined);
  });

  it("settles a redelivery of the same event.id as duplicate, stored once", async () => {
    const t = await target();
    const { sink, metrics } = makeSink(t.url, { auth: t.auth, namespace: t.namespace });
    const events = [event(), event()];
    await sink.deliver(events);
    assert.deepEqual(statuses(await sink.deliver(events)), { duplicate: 2 });
    assert.equal(metrics.counts.duplicates, 2);
    assert.equal((await t.stored(`logs-tanium_ecs.recorder-${t.namespace}`)).size, 2);
  });
});

describe("Elasticsearch sink: the wire and faults (fake)", () => {
  it("sends gzip NDJSON with filter_path, and create (the fake refuses index into a data stream)", async () => {
    const { es, url } = await fake();
    const { sink } = makeSink(url, { auth: { api_key: "k1" } });
    es.auth = { apiKey: "k1" };
    await sink.deliver([event()]);
    assert.equal(es.lastBulkHeaders["content-encoding"], "gzip");
    assert.equal(es.lastBulkHeaders["content-type"], "application/x-ndjson");
    assert.match(es.lastBulkQuery, /filter_path=errors,items\.\*\.status,items\.\*\.error/);
    const plain = makeSink(url, { auth: { api_key: "k1" }, compression: false });
    assert.deepEqual(statuses(await plain.sink.deliver([event()])), { delivered: 1 });
    assert.equal(es.lastBulkHeaders["content-encoding"], undefined);
  });

  it("reads every item: 2xx delivered, 409 duplicate, 429/5xx retried alone, other 4xx rejected with the reason", async () => {
    const events = Array.from({ length: 40 }, () => event());
    const kind = (id: string): number => events.findIndex((e) => e.id === id) % 4;
    const { es, url } = await fake({
      itemFault: ({ id, arrival }) => {
        const k = kind(id);
        if (k === 1 && arrival === 1) return { status: 429 };
        if (k === 2 && arrival <= 2) return { status: 500 };
        if (k === 3)
          return {
            status: 400,
            type: "document_parsing_exception",
            reason: `failed to parse field [x] of type [long] in ${id}`,
          };
        return undefined;
      },
    });
    const { sink, metrics } = makeSink(url);
    const settled = await sink.deliver(events);
    assert.deepEqual(statuses(settled), { delivered: 30, rejected: 10 });
    const rejected = settled[3] as Extract<Settlement, { status: "rejected" }>;
    assert.equal(
      rejected.reason,
      `document_parsing_exception: failed to parse field [x] of type [long] in ${events[3]!.id}`,
    );
    const arrivals = (i: number): number | undefined =>
      es.arrivals.get(`logs-tanium_ecs.recorder-default/${events[i]!.id}`);
    assert.deepEqual([arrivals(0), arrivals(1), arrivals(2), arrivals(3)], [1, 2, 3, 1]);
    assert.equal(metrics.counts.retried, 10 + 20);
    assert.equal(metrics.counts.rejected, 10);
    assert.equal(es.docs("logs-tanium_ecs.recorder-default").size, 30);
  });

  it("honours Retry-After of a whole-request 429, health not ok while it waits", async () => {
    const { es, url } = await fake({
      requestFault: (n) => (n === 1 ? { status: 429, retryAfter: "1" } : undefined),
    });
    const { sink, metrics } = makeSink(url);
    const began = Date.now();
    const pending = sink.deliver([event(), event()]);
    await new Promise((resolve) => setTimeout(resolve, 300));
    const during = sink.health();
    assert.equal(during.ok, false);
    assert.match(during.lastError ?? "", /429 es_rejected_execution_exception/);
    assert.ok((during.failingSince ?? 0) >= began);
    assert.deepEqual(statuses(await pending), { delivered: 2 });
    assert.ok(Date.now() - began >= 950, "waited the second the server asked for");
    assert.deepEqual(sink.health(), { ok: true });
    assert.equal(metrics.counts.retried, 2);
    assert.equal(es.bulkRequests, 2);
  });

  it("sends again whole a request whose connection was reset after the bulk was applied: stored once, delivered", async () => {
    const { es, url } = await fake({ requestFault: (n) => (n === 1 ? { reset: "after" } : undefined) });
    const { sink, metrics } = makeSink(url);
    const events = [event(), event(), event()];
    assert.deepEqual(statuses(await sink.deliver(events)), { delivered: 3 });
    assert.equal(es.bulkRequests, 2);
    assert.equal(es.docs("logs-tanium_ecs.recorder-default").size, 3);
    assert.equal(metrics.counts.retried, 3);
  });

  it("sends again a request answered after request_timeout", async () => {
    const { es, url } = await fake({ requestFault: (n) => (n === 1 ? { delayMs: 1500 } : undefined) });
    const { sink, metrics } = makeSink(url, { request_timeout: 0.3 });
    assert.deepEqual(statuses(await sink.deliver([event(), event()])), { delivered: 2 });
    assert.ok(es.bulkRequests >= 2);
    assert.equal(es.docs("logs-tanium_ecs.recorder-default").size, 2);
    assert.ok(metrics.counts.retried >= 2);
  });

  it("splits a batch over http.max_content_length in halves; a single document still too large is rejected", async () => {
    const { es, url } = await fake({ maxContentLength: 4000 });
    const { sink } = makeSink(url);
    const small = Array.from({ length: 30 }, () => event());
    const big = event("tanium.recorder", { padding: "x".repeat(6000) });
    const settled = await sink.deliver([...small.slice(0, 10), big, ...small.slice(10)]);
    assert.deepEqual(statuses(settled), { delivered: 30, rejected: 1 });
    assert.match(
      (settled[10] as { reason: string }).reason,
      /larger than the server's http.max_content_length/,
    );
    assert.equal(es.docs("logs-tanium_ecs.recorder-default").size, 30);
  });

  it("retries a 401 during delivery, health not ok and the log saying the key was refused, without the key", async () => {
    const { es, url } = await fake({ auth: { apiKey: "old-secret-key" } });
    const { sink, log } = makeSink(url, { auth: { api_key: "the-secret-key" } });
    const pending = sink.deliver([event()]);
    await new Promise((resolve) => setTimeout(resolve, 400));
    assert.equal(sink.health().ok, false);
    assert.match(sink.health().lastError ?? "", /the API key was refused \(401\)/);
    es.auth = { apiKey: "the-secret-key" }; // the operator fixes the key
    assert.deepEqual(statuses(await pending), { delivered: 1 });
    assert.equal(sink.health().ok, true);
    assert.match(log(), /"level":50.*the API key was refused/);
    assert.ok(!log().includes("the-secret-key") && !log().includes("old-secret-key"));
  });

  it("bounds requests in flight and cuts a large deliver into batches", async () => {
    const { es, url } = await fake({ requestFault: () => ({ delayMs: 20 }) });
    const { sink } = makeSink(url, { max_in_flight: 2, max_batch_events: 100 });
    const events = Array.from({ length: 1000 }, () => event());
    const [a, b] = await Promise.all([sink.deliver(events.slice(0, 500)), sink.deliver(events.slice(500))]);
    assert.deepEqual(statuses([...a!, ...b!]), { delivered: 1000 });
    assert.equal(es.bulkRequests, 10);
    assert.equal(es.maxInFlight, 2);
  });

  it("close() stops retrying: a pending deliver rejects with SinkError", async () => {
    const { url } = await fake({ requestFault: () => ({ status: 503 }) });
    const { sink } = makeSink(url);
    const outcome = sink.deliver([event()]).then(
      () => undefined,
      (error: unknown) => error,
    );
    await new Promise((resolve) => setTimeout(resolve, 200));
    await sink.close();
    const error = await outcome;
    assert.ok(error instanceof SinkError && error.code === "es_closed", String(error));
  });
});

describe("Elasticsearch sink: start()", () => {
  it("tells Elasticsearch from OpenSearch, and accepts API key, basic and bearer credentials", async () => {
    for (const [options, auth] of [
      [{ distribution: "elasticsearch", auth: { apiKey: "k" } }, { api_key: "k" }],
      [
        { distribution: "opensearch", auth: { username: "u", password: "p" } },
        { username: "u", password: "p" },
      ],
      [{ distribution: "opensearch", version: "1.0.0", auth: { bearer: "b" } }, { bearer: "b" }],
    ] as const) {
      const { url } = await fake(options);
      const { sink, log } = makeSink(url, { auth });
      await sink.start();
      assert.match(log(), options.distribution === "opensearch" ? /OpenSearch \d/ : /Elasticsearch 8\.15\.3/);
    }
  });

  it("says what is wrong: refused connection, DNS, TLS, refused key, not the product, too old", async () => {
    const expect = async (
      settings: Partial<ElasticsearchSettingsInput> & { url: string },
      code: string,
      message: RegExp,
    ) => {
      const { sink } = makeSink(settings.url, { request_timeout: 5, ...settings });
      await assert.rejects(sink.start(), (error: unknown) => {
        assert.ok(error instanceof SinkError);
        assert.equal(error.code, code);
        assert.match(error.message, message);
        return true;
      });
    };
    const closed = new FakeElasticsearch();
    const closedUrl = await closed.listen();
    await closed.close();
    await expect({ url: closedUrl }, "es_unreachable", /connection refused/);
    await expect({ url: "http://no-such-host.invalid:9200" }, "es_unreachable", /does not resolve/);
    const tls = await fake({ tls: { key: await readText("key.pem"), cert: await readText("cert.pem") } });
    await expect({ url: tls.url }, "es_unreachable", /TLS .* failed.*ca_file/);
    const ok = makeSink(tls.url, { ca_file: join(TLS_DIR, "cert.pem") });
    await ok.sink.start();
    assert.deepEqual(statuses(await ok.sink.deliver([event()])), { delivered: 1 });
    const locked = await fake({ auth: { apiKey: "right" } });
    await expect(
      { url: locked.url, auth: { api_key: "wrong" } },
      "es_auth",
      /the API key was refused \(401\)/,
    );
    await expect({ url: locked.url }, "es_auth", /no credentials were given/);
    const other = await fake({ distribution: "other" });
    await expect({ url: other.url }, "es_not_elasticsearch", /not Elasticsearch or OpenSearch/);
    const old = await fake({ version: "7.9.3" });
    await expect({ url: old.url }, "es_version", /Elasticsearch 7\.9\.3 is too old; 7\.10/);
    const oldOs = await fake({ distribution: "opensearch", version: "0.9.0" });
    await expect({ url: oldOs.url }, "es_version", /OpenSearch 0\.9\.0 is too old/);
  });

  it("installs the template and ILM policy on Elasticsearch 8.13+ (composing the built-ins)", async () => {
    const { es, url } = await fake({ version: "8.15.3" });
    const { sink } = makeSink(url, {
      install_template: true,
      lifecycle: { policy: "tanium-30d", delete_after: "30d" },
    });
    await sink.start();
    const template = es.templates.get("tanium_ecs");
    assert.deepEqual(template?.composed_of, ["logs@mappings", "logs@settings", "ecs@mappings"]);
    assert.equal(template?.priority, 200);
    assert.deepEqual((es.ilm.get("tanium-30d") as { phases: { delete: unknown } }).phases.delete, {
      min_age: "30d",
      actions: { delete: {} },
    });
  });

  it("installs generated mappings on Elasticsearch 8.12, and on OpenSearch with an ISM policy, twice", async () => {
    const older = await fake({ version: "8.12.2" });
    await makeSink(older.url, { install_template: true }).sink.start();
    const generated = older.es.templates.get("tanium_ecs")?.template as {
      mappings: { properties: Record<string, unknown> };
    };
    assert.deepEqual(generated.mappings.properties.tanium, { type: "flattened" });

    const os = await fake({ distribution: "opensearch" });
    const settings = { install_template: true, lifecycle: { policy: "tanium-30d", delete_after: "30d" } };
    await makeSink(os.url, settings).sink.start();
    await makeSink(os.url, settings).sink.start(); // an update needs the policy's seq_no
    assert.equal(os.es.ism.get("tanium-30d")?.seqNo, 1);
    const template = os.es.templates.get("tanium_ecs")?.template as {
      mappings: { properties: Record<string, unknown> };
    };
    assert.deepEqual(template.mappings.properties.tanium, { type: "flat_object" });
    // With the template's data_stream, OpenSearch makes data streams: the sink's create goes in.
    const { sink } = makeSink(os.url);
    assert.deepEqual(statuses(await sink.deliver([event()])), { delivered: 1 });
  });

  it("refuses settings that are not valid", () => {
    assert.throws(() => elasticsearchSettings.parse({ url: "ftp://x" }));
    assert.throws(
      () => elasticsearchSettings.parse({ url: "http://u:p@x:9200" }),
      /no credentials in the address/,
    );
    assert.throws(() => elasticsearchSettings.parse({ url: "http://x", namespace: "My-Space" }));
    assert.throws(() => elasticsearchSettings.parse({ url: "http://x", dataset_prefix: "tanium" }));
    const defaults = elasticsearchSettings.parse({ url: "http://x:9200" });
    assert.equal(defaults.max_batch_bytes, 5 * 1024 * 1024);
    assert.equal(defaults.namespace, "default");
  });
});

async function readText(name: string): Promise<string> {
  const { readFile } = await import("node:fs/promises");
  return readFile(join(TLS_DIR, name), "utf8");
}

describe("Elasticsearch sink: a load with random faults (fake)", () => {
  for (const distribution of ["elasticsearch", "opensearch"] as const) {
    it(`${distribution}: 20,000 events, each stored once, every rejection with its reason, none unsettled`, async () => {
      const seed = Number(process.env.TANIUM_ECS_TEST_SEED ?? 20250601);
      const random = seeded(seed);
      const permanent = new Set<string>();
      const { es, url } = await fake({
        distribution,
        requestFault: () => {
          const roll = random();
          if (roll < 0.04) return { status: 429, retryAfter: "0" };
          if (roll < 0.06) return { status: 503 };
          if (roll < 0.09) return { reset: "after" };
          if (roll < 0.1) return { reset: "before" };
          return undefined;
        },
        itemFault: ({ id }) => {
          if (permanent.has(id))
            return { status: 400, type: "mapper_parsing_exception", reason: `bad ${id}` };
          const roll = random();
          if (roll < 0.02) return { status: 429 };
          if (roll < 0.03) return { status: 500 };
          return undefined;
        },
      });
      const { sink, metrics } = makeSink(url, { max_batch_events: 500, max_in_flight: 2, namespace: "load" });
      const datasets = ["tanium.recorder", "tanium.threat_response", "tanium.client_status"];
      const events = Array.from({ length: 20_000 }, (_, i) => event(datasets[i % 3]));
      for (const e of events) if (random() < 0.005) permanent.add(e.id);
      const began = process.hrtime.bigint();
      const chunks = Array.from({ length: 10 }, (_, i) => events.slice(i * 2000, (i + 1) * 2000));
      const settled: Settlement[] = [];
      for (let i = 0; i < chunks.length; i += 2) {
        const pair = await Promise.all(chunks.slice(i, i + 2).map((chunk) => sink.deliver(chunk)));
        for (const part of pair) settled.push(...part);
      }
      const seconds = Number(process.hrtime.bigint() - began) / 1e9;
      assert.equal(settled.length, events.length);
      let stored = 0;
      for (const dataset of datasets) {
        const stream = `logs-tanium_ecs.${dataset.slice("tanium.".length)}-load`;
        stored += es.docs(stream).size;
      }
      assert.equal(stored, events.length - permanent.size, "every event not refused is stored, once by _id");
      assert.equal(es.storedCount(), stored);
      events.forEach((e, i) => {
        const s = settled[i]!;
        if (permanent.has(e.id))
          assert.deepEqual(s, { status: "rejected", reason: `mapper_parsing_exception: bad ${e.id}` });
        else assert.equal(s.status, "delivered", `${e.id}: ${JSON.stringify(s)}`);
      });
      assert.ok(permanent.size > 0);
      assert.ok(metrics.counts.retried > 0);
      assert.equal(metrics.counts.delivered, events.length - permanent.size);
      assert.equal(metrics.counts.rejected, permanent.size);
      console.log(
        `${distribution} seed ${seed}: ${events.length} events in ${seconds.toFixed(2)} s, ` +
          `${es.bulkRequests} requests, ${metrics.counts.retried} resent, ${permanent.size} rejected`,
      );
    });
  }
});

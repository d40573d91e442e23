import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { request as httpsRequest } from "node:https";
import { gzipSync, deflateSync } from "node:zlib";
import {
  eventLine,
  eventLines,
  metricValue,
  scalar,
  slowStore,
  startTestServer,
  TLS_CERT,
  TLS_KEY,
  type TestServer,
} from "./server-helpers.ts";

interface Answer {
  status: number;
  headers: Headers;
  body: unknown;
}

async function post(
  server: TestServer,
  body: string | Uint8Array,
  headers: Record<string, string>,
  path = "/ingest",
): Promise<Answer> {
  const response = await fetch(`${server.url}${path}`, { method: "POST", headers, body });
  const text = await response.text();
  let parsed: unknown = text;
  try {
    parsed = JSON.parse(text);
  } catch {
    // Prometheus text and the like stay text.
  }
  return { status: response.status, headers: response.headers, body: parsed };
}

const NDJSON = { "content-type": "application/x-ndjson" };
const JSON_TYPE = { "content-type": "application/json" };

async function count(server: TestServer, where = "true"): Promise<number> {
  return Number(await scalar(server, `SELECT count(*) FROM events WHERE ${where}`));
}

describe("HTTP input without a token", () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer({ "max-body-bytes": "65536", "max-line-bytes": "2048" });
  });
  after(() => server.stop());

  it("stores a JSON array and answers only once it is committed", async () => {
    const lines = eventLines(3, "array");
    const answer = await post(server, `[${lines.join(",")}]`, JSON_TYPE);
    assert.equal(answer.status, 200);
    assert.deepEqual(answer.body, { accepted: 3, dead_letters: 0 });
    // Acknowledged means committed: the rows are there the moment the answer is.
    assert.equal(await count(server, `"host.name" = 'host-array'`), 3);
  });

  it("stores one JSON object, pretty-printed", async () => {
    const pretty = JSON.stringify(JSON.parse(eventLine(1, "single")), null, 2);
    const answer = await post(server, pretty, { "content-type": "application/json; charset=utf-8" });
    assert.deepEqual([answer.status, answer.body], [200, { accepted: 1, dead_letters: 0 }]);
    assert.equal(await count(server, `"host.name" = 'host-single'`), 1);
  });

  it("stores NDJSON and text/plain lines, blank lines skipped", async () => {
    const a = await post(server, `${eventLines(2, "nd").join("\n")}\n\n`, NDJSON);
    assert.deepEqual([a.status, a.body], [200, { accepted: 2, dead_letters: 0 }]);
    const b = await post(server, eventLines(2, "plain").join("\r\n"), { "content-type": "text/plain" });
    assert.deepEqual([b.status, b.body], [200, { accepted: 2, dead_letters: 0 }]);
    assert.equal(await count(server, `"host.name" IN ('host-nd', 'host-plain')`), 4);
  });

  it("decompresses gzip and deflate bodies", async () => {
    const gz = await post(server, gzipSync(eventLines(5, "gzip").join("\n")), {
      ...NDJSON,
      "content-encoding": "gzip",
    });
    assert.deepEqual([gz.status, gz.body], [200, { accepted: 5, dead_letters: 0 }]);
    const df = await post(server, deflateSync(`[${eventLines(2, "deflate").join(",")}]`), {
      ...JSON_TYPE,
      "content-encoding": "deflate",
    });
    assert.deepEqual([df.status, df.body], [200, { accepted: 2, dead_letters: 0 }]);
    assert.equal(await count(server, `"host.name" IN ('host-gzip', 'host-deflate')`), 7);
  });

  it("answers 413 to a gzip bomb: the cap applies to the decompressed bytes", async () => {
    const bomb = gzipSync(Buffer.alloc(8 * 1024 * 1024, 0x20));
    assert.ok(bomb.length < 65536, "the compressed body itself is under the cap");
    const answer = await post(server, bomb, { ...NDJSON, "content-encoding": "gzip" });
    assert.equal(answer.status, 413);
    assert.equal((answer.body as { error: { code: string } }).error.code, "ERR_BODY_TOO_LARGE");
  });

  it("answers 413 to a body over the cap, and 400 to a body that is not gzip", async () => {
    const big = eventLines(600, "big").join("\n");
    assert.ok(big.length > 65536);
    const answer = await post(server, big, NDJSON);
    assert.equal(answer.status, 413);
    assert.match((answer.body as { error: { message: string } }).error.message, /65536 byte limit/);
    const bad = await post(server, "not gzip at all", { ...NDJSON, "content-encoding": "gzip" });
    assert.equal(bad.status, 400);
  });

  it("answers 415 with a JSON error to other content types and encodings", async () => {
    const xml = await post(server, "<event/>", { "content-type": "application/xml" });
    assert.equal(xml.status, 415);
    assert.equal((xml.body as { error: { code: string } }).error.code, "ERR_UNSUPPORTED_MEDIA_TYPE");
    const br = await post(server, "x", { ...NDJSON, "content-encoding": "br" });
    assert.equal(br.status, 415);
    assert.equal((br.body as { error: { code: string } }).error.code, "ERR_UNSUPPORTED_ENCODING");
  });

  it("stores what fails normalize as dead letters, counted in the answer, with input and receive time", async () => {
    const body = [
      eventLine(1, "mixed"),
      "{not json",
      '{"no":"tanium keys"}',
      "x".repeat(3000),
      eventLine(2, "mixed"),
    ].join("\n");
    const answer = await post(server, body, NDJSON);
    assert.deepEqual([answer.status, answer.body], [200, { accepted: 2, dead_letters: 3 }]);
    const rows = await server.handle.store.query(
      `SELECT code, input, received_at IS NOT NULL FROM dead_letters WHERE original LIKE '{not json%' OR original LIKE '{"no"%' OR original LIKE 'xxx%' ORDER BY code`,
    );
    assert.deepEqual(rows.rows, [
      ["ERR_JSON_SYNTAX", "http", true],
      ["ERR_LINE_TOO_LONG", "http", true],
      ["ERR_NO_EVENT", "http", true],
    ]);
    // A non-object element of an array is a dead letter too.
    const array = await post(server, `[${eventLine(3, "mixed")}, 42, "text"]`, JSON_TYPE);
    assert.deepEqual(array.body, { accepted: 1, dead_letters: 2 });
  });

  it("stores a redelivered batch once and still acknowledges all of it", async () => {
    const body = eventLines(4, "dup").join("\n");
    const first = await post(server, body, NDJSON);
    const second = await post(server, body, NDJSON);
    assert.deepEqual(first.body, { accepted: 4, dead_letters: 0 });
    assert.deepEqual(second.body, { accepted: 4, dead_letters: 0 });
    assert.equal(await count(server, `"host.name" = 'host-dup'`), 4);
    assert.equal(Number(await scalar(server, `SELECT count(*) - count(DISTINCT "event.id") FROM events`)), 0);
  });

  it("serves /healthz with the store status", async () => {
    const response = await fetch(`${server.url}/healthz`);
    assert.equal(response.status, 200);
    const body = (await response.json()) as { status: string; store: { ok: boolean } };
    assert.equal(body.status, "ok");
    assert.equal(body.store.ok, true);
  });

  it("serves /metrics with the counters at their values", async () => {
    // Counted from here, on a server of its own, so the values are known exactly.
    const fresh = await startTestServer();
    try {
      await post(fresh, [eventLine(1, "m"), eventLine(2, "m"), "{bad", '{"x":1}'].join("\n"), NDJSON);
      await post(fresh, "x", { "content-type": "application/xml" });
      const text = await (await fetch(`${fresh.url}/metrics`)).text();
      assert.equal(metricValue(text, 'tanium_ecs_received_total{input="http"}'), 4);
      assert.equal(metricValue(text, "tanium_ecs_documents_total"), 2);
      assert.equal(metricValue(text, 'tanium_ecs_dead_letters_total{code="ERR_JSON_SYNTAX"}'), 1);
      assert.equal(metricValue(text, 'tanium_ecs_dead_letters_total{code="ERR_NO_EVENT"}'), 1);
      assert.equal(metricValue(text, "tanium_ecs_queue_depth"), 0);
      assert.equal(metricValue(text, "tanium_ecs_batch_commit_seconds_count"), 1);
      assert.equal(metricValue(text, 'tanium_ecs_http_rejected_total{status="415"}'), 1);
      assert.equal(metricValue(text, "tanium_ecs_udp_dropped_total"), 0);
      assert.ok(metricValue(text, "tanium_ecs_unmapped_keys_total") !== undefined);
      assert.match(text, /^process_cpu_user_seconds_total /m);
    } finally {
      await fresh.stop();
    }
  });

  it("logs a warning that it listens on loopback only", () => {
    assert.ok(server.logs.some((l) => l.msg === "no token: listening on loopback only" && l.level === 40));
    assert.ok(server.logs.some((l) => l.msg === "listening" && l.input === "http"));
  });
});

describe("HTTP input with a token", () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer({ token: "s3cret-token", "token-header": "X-Tanium-Token" });
  });
  after(() => server.stop());

  it("answers 401 without a token or with a wrong one, 200 with the bearer or the named header", async () => {
    const body = eventLine(1, "auth");
    const none = await post(server, body, NDJSON);
    assert.equal(none.status, 401);
    assert.equal((none.body as { error: { code: string } }).error.code, "ERR_UNAUTHORIZED");
    const wrong = await post(server, body, { ...NDJSON, authorization: "Bearer s3cret-tokem" });
    assert.equal(wrong.status, 401);
    const wrongHeader = await post(server, body, { ...NDJSON, "x-tanium-token": "s3cret" });
    assert.equal(wrongHeader.status, 401);
    const bearer = await post(server, body, { ...NDJSON, authorization: "Bearer s3cret-token" });
    assert.deepEqual([bearer.status, bearer.body], [200, { accepted: 1, dead_letters: 0 }]);
    const named = await post(server, eventLine(2, "auth"), { ...NDJSON, "X-Tanium-Token": "s3cret-token" });
    assert.deepEqual([named.status, named.body], [200, { accepted: 1, dead_letters: 0 }]);
    assert.equal(await count(server, `"host.name" = 'host-auth'`), 2);
  });

  it("puts /api/query behind the same token, and leaves /healthz open", async () => {
    const sql = JSON.stringify({ sql: `SELECT count(*) AS n FROM events WHERE "host.name" = 'host-auth'` });
    const denied = await post(server, sql, JSON_TYPE, "/api/query");
    assert.equal(denied.status, 401);
    const allowed = await post(
      server,
      sql,
      { ...JSON_TYPE, authorization: "Bearer s3cret-token" },
      "/api/query",
    );
    assert.equal(allowed.status, 200);
    assert.deepEqual((allowed.body as { rows: unknown[] }).rows, [[2]]);
    assert.equal((await fetch(`${server.url}/healthz`)).status, 200);
  });
});

describe("HTTP input under a saturated store", () => {
  it("answers 503 with Retry-After once the queue is full, and stores every batch it acknowledged", async () => {
    const server = await startTestServer({ "queue-max": "10", "batch-max": "10" }, (store) =>
      slowStore(store, 300),
    );
    try {
      const answers = await Promise.all(
        Array.from({ length: 20 }, (_, i) => post(server, eventLines(5, `busy${i}`).join("\n"), NDJSON)),
      );
      const ok = answers.filter((a) => a.status === 200);
      const refused = answers.filter((a) => a.status === 503);
      assert.equal(ok.length + refused.length, 20);
      assert.ok(refused.length > 0, "some batches are refused");
      assert.ok(ok.length > 0, "some batches get through");
      for (const a of refused) {
        assert.equal(a.headers.get("retry-after"), "1");
        assert.equal((a.body as { error: { code: string } }).error.code, "ERR_QUEUE_FULL");
      }
      assert.equal(await count(server, `"host.name" LIKE 'host-busy%'`), ok.length * 5);
    } finally {
      await server.stop();
    }
  });
});

describe("HTTPS", () => {
  it("serves /ingest over TLS with --tls-cert and --tls-key", async () => {
    const server = await startTestServer({
      "tls-cert": TLS_CERT,
      "tls-key": TLS_KEY,
      tcp: "off",
      udp: "off",
    });
    try {
      const port = server.handle.inputs.find((i) => i.name === "http")!.port;
      const answer = await new Promise<{ status: number; body: string }>((resolve, reject) => {
        const req = httpsRequest(
          {
            host: "127.0.0.1",
            port,
            path: "/ingest",
            method: "POST",
            ca: readFileSync(TLS_CERT),
            servername: "localhost",
            headers: NDJSON,
          },
          (res) => {
            let body = "";
            res.setEncoding("utf8");
            res.on("data", (d: string) => (body += d));
            res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
          },
        );
        req.on("error", reject);
        req.end(eventLine(1, "tls"));
      });
      assert.deepEqual([answer.status, JSON.parse(answer.body)], [200, { accepted: 1, dead_letters: 0 }]);
    } finally {
      await server.stop();
    }
  });
});

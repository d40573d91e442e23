/**
 * One pipeline: the same input through `normalize` and through `serve` gives the same documents
 * and the same dead-letter codes; the server delivers every batch to every sink and acknowledges
 * only once all settled; sinks are built by kind from the registry.
 */
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, test } from "node:test";
import { pino } from "pino";
import { normalizeFiles } from "../src/cli/normalize-command.ts";
import { buildSinks, SinkConfigError, storeSink, type PipelineSink } from "../src/delivery/index.ts";
import { outEvent, type OutEvent } from "../src/delivery/event.ts";
import { NO_SINK_METRICS } from "../src/delivery/metrics.ts";
import { DELIVERED, rejected, SinkError, type Settlement, type SinkHealth } from "../src/delivery/sink.ts";
import { normalize } from "../src/normalize.ts";
import { resolveConfig, type RawSettings } from "../src/server/config.ts";
import { startServer, type ServerHandle } from "../src/server/server.ts";
import { stores } from "../src/store/index.ts";
import type { EventStore } from "../src/store/store.ts";
import { eventLine, eventLines, tempDir } from "./server-helpers.ts";

const silent = pino({ level: "silent" });

interface Started {
  readonly handle: ServerHandle;
  readonly url: string;
  readonly store: EventStore;
  stop(): Promise<void>;
}

/** A real server over a real DuckDB store in a temporary folder, HTTP only, on 127.0.0.1 port 0. */
async function start(
  settings: RawSettings = {},
  sinks?: (store: EventStore) => PipelineSink[],
  configSinks?: { name: string; kind: string; settings: unknown }[],
): Promise<Started> {
  const dir = tempDir();
  const config = resolveConfig({
    flags: { http: "127.0.0.1:0", tcp: "off", udp: "off", data: dir, "batch-ms": "5", ...settings },
  });
  const store = await stores.duckdb({ dataDir: dir });
  const handle = await startServer(
    { ...config, sinks: configSinks ?? [] },
    { logger: silent, store, ...(sinks === undefined ? {} : { sinks: sinks(store) }) },
  );
  return {
    handle,
    store,
    url: `http://${handle.addresses.http}`,
    async stop() {
      await handle.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

async function ingest(url: string, body: string, type = "application/x-ndjson"): Promise<Response> {
  return fetch(`${url}/ingest`, { method: "POST", headers: { "content-type": type }, body });
}

/** The document without what depends on when it was received. */
function comparable(value: unknown): unknown {
  const doc = (typeof value === "string" ? JSON.parse(value) : structuredClone(value)) as {
    event?: Record<string, unknown>;
    "@timestamp"?: unknown;
  };
  // An event without a time of its own is stamped with its receive time.
  if (doc["@timestamp"] === doc.event?.ingested) delete doc["@timestamp"];
  delete doc.event?.ingested;
  return doc;
}

const MAX_LINE = 4096;
const LINES = [
  ...eventLines(3, "same"),
  "{not json",
  JSON.stringify({ event: "file_open", hostname: "h", fields: { __proto__x: 1 } }),
  `{"pad":"${"x".repeat(MAX_LINE)}"}`,
  '["an array, not an object"]',
];

describe("the same step for normalize and serve", () => {
  test("the same documents and the same dead-letter codes, framing errors included", async () => {
    const dir = mkdtempSync(join(tmpdir(), "tanium-ecs-step-"));
    const server = await start({ "max-line-bytes": String(MAX_LINE) });
    try {
      const cases = [
        { file: "lines.ndjson", body: LINES.join("\n") + "\n", type: "application/x-ndjson" },
        // A JSON array broken after its second element.
        {
          file: "array.json",
          body: `[${eventLine(10, "arr")}, ${eventLine(11, "arr")}, {"x": }]`,
          type: "application/json",
        },
      ];
      for (const { file, body, type } of cases) {
        const input = join(dir, file);
        writeFileSync(input, body);
        const out = join(dir, `${file}.out`);
        const dead = join(dir, `${file}.dead`);
        const status = await normalizeFiles([input], {
          output: out,
          deadLetter: dead,
          original: true,
          maxLineBytes: MAX_LINE,
          workers: 0,
          progress: false,
        });
        assert.equal(status, 3, "some lines are dead letters");
        const cliDocs = readFileSync(out, "utf8").split("\n").filter(Boolean).map(comparable);
        const cliCodes = readFileSync(dead, "utf8")
          .split("\n")
          .filter(Boolean)
          .map((l) => (JSON.parse(l) as { error: { code: string } }).error.code)
          .sort();

        const ids = 'SELECT "event.id", doc FROM events';
        const before = new Set((await server.store.query(ids)).rows.map((r) => r[0]));
        const answer = await ingest(server.url, body, type);
        assert.equal(answer.status, 200);
        const counts = (await answer.json()) as { accepted: number; dead_letters: number };
        assert.equal(counts.accepted, cliDocs.length);
        assert.equal(counts.dead_letters, cliCodes.length);
        const docs = (await server.store.query(ids)).rows.filter((r) => !before.has(r[0]));
        const serverDocs = docs.map((r) => comparable(r[1]));
        const byId = (a: unknown, b: unknown): number =>
          JSON.stringify(a) < JSON.stringify(b) ? -1 : JSON.stringify(a) > JSON.stringify(b) ? 1 : 0;
        assert.deepEqual([...serverDocs].sort(byId), [...cliDocs].sort(byId));
        const rows = await server.store.query(
          `SELECT code, count FROM dead_letters WHERE original IN (SELECT original FROM dead_letters) ORDER BY code`,
        );
        const serverCodes = rows.rows.flatMap((r) => Array<string>(Number(r[1])).fill(String(r[0])));
        for (const code of cliCodes)
          assert.ok(serverCodes.includes(code), `${code} is a dead letter in serve too`);
      }
      const all = await server.store.query("SELECT DISTINCT code FROM dead_letters ORDER BY code");
      assert.deepEqual(
        all.rows.map((r) => r[0]),
        ["ERR_JSON_SYNTAX", "ERR_LINE_TOO_LONG", "ERR_NOT_AN_OBJECT"],
      );
    } finally {
      await server.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test("serve --no-original leaves event.original out; by default it is kept", async () => {
    for (const [settings, kept] of [
      [{}, true],
      [{ original: false }, false],
    ] as const) {
      const server = await start(settings);
      try {
        assert.equal((await ingest(server.url, eventLine(1, "orig"))).status, 200);
        const result = await server.store.query(`SELECT doc FROM events`);
        const doc = comparable(result.rows[0]![0]) as { event: { original?: string } };
        assert.equal(doc.event.original === eventLine(1, "orig"), kept);
        if (!kept) assert.equal(doc.event.original, undefined);
      } finally {
        await server.stop();
      }
    }
  });
});

/** A sink of the test: settles once `gate` opens, refuses the events whose JSON holds `refuse`. */
class GatedSink implements PipelineSink {
  readonly name: string;
  readonly kind = "test";
  gate: Promise<void> = Promise.resolve();
  refuse: string | undefined;
  fail = false;
  settled = 0;
  constructor(name: string) {
    this.name = name;
  }
  async start(): Promise<void> {}
  async deliver(events: readonly OutEvent[]): Promise<Settlement[]> {
    await this.gate;
    if (this.fail) throw new SinkError("ERR_TEST_DOWN", "the test destination is down");
    this.settled += events.length;
    const refuse = this.refuse;
    return events.map((e) =>
      refuse !== undefined && e.json.includes(refuse)
        ? rejected("mapper_parsing_exception on file.path")
        : DELIVERED,
    );
  }
  health(): SinkHealth {
    return this.fail ? { ok: false, failingSince: Date.now() - 1000, lastError: "down" } : { ok: true };
  }
  async close(): Promise<void> {}
}

describe("two sinks at once", () => {
  test("the answer waits for both; rejected events are dead letters with the sink's reason", async () => {
    const slow = new GatedSink("slow");
    let open!: () => void;
    slow.gate = new Promise((resolve) => (open = resolve));
    slow.refuse = "file-1.txt";
    const server = await start({}, (store) => [
      storeSink("duckdb", store, { logger: silent, metrics: NO_SINK_METRICS }),
      slow,
    ]);
    try {
      let answered = false;
      const answer = ingest(server.url, eventLines(3, "two").join("\n") + "\n{bad").then((r) => {
        answered = true;
        return r;
      });
      await new Promise((resolve) => setTimeout(resolve, 300));
      assert.equal(answered, false, "no answer while a sink has not settled");
      open();
      const response = await answer;
      assert.equal(response.status, 200);
      assert.deepEqual(await response.json(), { accepted: 2, dead_letters: 2 });
      assert.equal(slow.settled, 3);
      const stored = await server.store.query("SELECT count(*) FROM events");
      assert.equal(Number(stored.rows[0]![0]), 3, "duckdb stored every document");
      const dead = await server.store.query(
        "SELECT message, original, input FROM dead_letters WHERE code = 'ERR_SINK_REJECTED'",
      );
      assert.equal(dead.rows.length, 1);
      const [message, original, input] = dead.rows[0]!;
      assert.match(
        String(message),
        /sink slow rejected the document: mapper_parsing_exception on file\.path/,
      );
      assert.equal(
        (JSON.parse(String(original)) as { file: { path: string } }).file.path,
        "/tmp/two/file-1.txt",
      );
      assert.equal(input, "http");
    } finally {
      await server.stop();
    }
  });

  test("a failing sink gives 503, nothing acknowledged, and /healthz names it", async () => {
    const down = new GatedSink("es");
    down.fail = true;
    const server = await start({}, (store) => [
      storeSink("duckdb", store, { logger: silent, metrics: NO_SINK_METRICS }),
      down,
    ]);
    try {
      const response = await ingest(server.url, eventLines(2, "down").join("\n"));
      assert.equal(response.status, 503);
      const health = await fetch(`${server.url}/healthz`);
      assert.equal(health.status, 503);
      const body = (await health.json()) as { status: string; sink: { name: string; since: string } };
      assert.equal(body.status, "sink_failing");
      assert.equal(body.sink.name, "es");
      assert.ok(Date.parse(body.sink.since) < Date.now());
      down.fail = false;
      const again = await ingest(server.url, eventLines(2, "down").join("\n"));
      assert.equal(again.status, 200, "the resend is taken once the sink recovers");
      assert.equal((await fetch(`${server.url}/healthz`)).status, 200);
    } finally {
      await server.stop();
    }
  });
});

describe("sinks from the registry", () => {
  test("a null sink: everything settled, dead letters still kept locally, no /api", async () => {
    const server = await start({ token: "t0k" }, undefined, [{ name: "bench", kind: "null", settings: {} }]);
    const auth = { authorization: "Bearer t0k" };
    try {
      const response = await fetch(`${server.url}/ingest`, {
        method: "POST",
        headers: { ...auth, "content-type": "application/x-ndjson" },
        body: [...eventLines(4, "null"), "junk"].join("\n"),
      });
      assert.deepEqual(await response.json(), { accepted: 4, dead_letters: 1 });
      const events = await server.store.query("SELECT count(*) FROM events");
      assert.equal(Number(events.rows[0]![0]), 0, "events went to the null sink, not the store");
      const dead = await server.store.query("SELECT code FROM dead_letters");
      assert.deepEqual(dead.rows, [["ERR_JSON_SYNTAX"]]);
      const api = await fetch(`${server.url}/api/query`, {
        method: "POST",
        headers: { ...auth, "content-type": "application/json" },
        body: JSON.stringify({ sql: "SELECT 1" }),
      });
      assert.equal(api.status, 404);
      assert.equal(((await api.json()) as { error: { code: string } }).error.code, "ERR_NO_QUERYABLE_SINK");
    } finally {
      await server.stop();
    }
  });

  test("a duckdb sink from the list keeps /api", async () => {
    const server = await start({}, undefined, [{ name: "local", kind: "duckdb", settings: {} }]);
    try {
      assert.equal((await ingest(server.url, eventLines(2, "api").join("\n"))).status, 200);
      const api = await fetch(`${server.url}/api/query`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ sql: "SELECT count(*) AS n FROM events" }),
      });
      assert.equal(api.status, 200);
      assert.deepEqual(((await api.json()) as { rows: unknown[][] }).rows, [[2]]);
    } finally {
      await server.stop();
    }
  });

  test("an unknown kind, a repeated name and bad settings are refused by name", () => {
    const build = (specs: { name: string; kind: string; settings: unknown }[]): unknown =>
      buildSinks(specs, { logger: silent });
    assert.throws(
      () => build([{ name: "x", kind: "kafka", settings: {} }]),
      (err: unknown) => {
        assert.ok(err instanceof SinkConfigError);
        assert.match(
          err.message,
          /sink x: unknown kind "kafka" \(known: null, ndjson, duckdb, elasticsearch, splunk_hec\)/,
        );
        return true;
      },
    );
    assert.throws(
      () =>
        build([
          { name: "a", kind: "null", settings: {} },
          { name: "a", kind: "null", settings: {} },
        ]),
      SinkConfigError,
    );
    assert.throws(() => build([{ name: "out", kind: "ndjson", settings: { path: 7 } }]), /sink out: path:/);
    assert.throws(() => build([{ name: "n", kind: "null", settings: { extra: true } }]), /sink n:/);
  });

  test("an ndjson sink writes the documents, one a line, and settles them delivered", async () => {
    const dir = mkdtempSync(join(tmpdir(), "tanium-ecs-ndjson-"));
    try {
      const path = join(dir, "out.ndjson");
      const [sink] = buildSinks([{ name: "file", kind: "ndjson", settings: { path } }], { logger: silent });
      await sink!.start();
      const events = [
        { id: "a", json: '{"event":{"id":"a"}}', dataset: "", timestamp: undefined, host: undefined },
        { id: "b", json: '{"event":{"id":"b"}}', dataset: "", timestamp: undefined, host: undefined },
      ];
      assert.deepEqual(await sink!.deliver(events), [DELIVERED, DELIVERED]);
      await sink!.close();
      assert.equal(readFileSync(path, "utf8"), '{"event":{"id":"a"}}\n{"event":{"id":"b"}}\n');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("the duckdb sink settles each event", () => {
  test("delivered or already there, per event, in a batch that mixes both", async () => {
    const dir = mkdtempSync(join(tmpdir(), "tanium-ecs-settle-"));
    const store = await stores.duckdb({ dataDir: dir });
    try {
      const sink = storeSink("duckdb", store, {
        logger: pino({ level: "silent" }),
        metrics: NO_SINK_METRICS,
      });
      await sink.start();
      const events = eventLines(6, "mix").map((line) => {
        const r = normalize(line, { receivedAt: "2026-01-01T00:00:00.000Z" });
        assert.ok(r.ok);
        return outEvent(r.doc);
      });
      // Events 1 and 4 were stored by an earlier batch; event 2 comes twice in this one.
      await sink.deliver([events[1]!, events[4]!]);
      const batch = [events[0]!, events[1]!, events[2]!, events[2]!, events[3]!, events[4]!, events[5]!];
      const statuses = (await sink.deliver(batch)).map((s) => s.status);
      assert.deepEqual(statuses, [
        "delivered",
        "duplicate",
        "delivered",
        "duplicate",
        "delivered",
        "duplicate",
        "delivered",
      ]);
      const stored = await store.query("SELECT count(*) FROM events");
      assert.equal(Number(stored.rows[0]![0]), 6);
    } finally {
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("remote kinds load their code when a sink is made", () => {
  test("a missing CA file still stops the start, though the sink's code loads later", () => {
    assert.throws(
      () =>
        buildSinks(
          [
            {
              name: "search",
              kind: "elasticsearch",
              settings: { url: "https://es.invalid:9200", ca_file: "/nonexistent/ca.pem", buffer: false },
            },
          ],
          { logger: pino({ level: "silent" }) },
        ),
      /ENOENT/,
    );
  });
});

/**
 * `serve` delivering to Elasticsearch and Splunk, end to end: the real server (a process for
 * kill -9, in this process otherwise) in front of the test suite's protocol servers
 * (`support/fake-elasticsearch.ts`, `support/fake-splunk.ts`; no real cluster runs here).
 * What a user notices: every event acknowledged to a sender ends in Elasticsearch exactly once
 * by `_id` and in Splunk at least once with its `event.id`, whatever happened between (the
 * destination down, the intake killed); a refused document is a dead letter with the reason; a
 * full disk buffer pushes back.
 */
import assert from "node:assert/strict";
import { rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import pino from "pino";
import { readConfigFile, resolveConfig } from "../src/server/config.ts";
import { startServer } from "../src/server/server.ts";
import { eventLines, eventually, tempDir } from "./server-helpers.ts";
import { FakeElasticsearch } from "./support/fake-elasticsearch.ts";
import { FakeSplunk } from "./support/fake-splunk.ts";
import { serveCli } from "./server-spawn.ts";

const NDJSON = { "content-type": "application/x-ndjson" };
const BATCH = 50;
const dirs: string[] = [];
after(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

/** The `_id`s of batch `index` (event.id is the hash of each line: read back from what ES stored). */
function hostOf(doc: Record<string, unknown>): string {
  return String((doc.host as { name?: string } | undefined)?.name ?? "");
}

/** Every stored document of every index, by `_id`, and how many indices hold each `_id`. */
function storedById(es: FakeElasticsearch): { byId: Map<string, Record<string, unknown>>; copies: number } {
  const byId = new Map<string, Record<string, unknown>>();
  let copies = 0;
  for (const index of es.indices.keys()) {
    for (const [id, doc] of es.docs(index)) {
      copies++;
      byId.set(id, doc);
    }
  }
  return { byId, copies };
}

async function post(url: string, body: string): Promise<Response> {
  return fetch(`${url}/ingest`, { method: "POST", headers: NDJSON, body });
}

describe("serve --elasticsearch", () => {
  it("acknowledges while Elasticsearch is down, survives kill -9, and delivers every acknowledged event once by _id", async () => {
    let down = true;
    const es = new FakeElasticsearch({
      requestFault: () => (down ? { status: 503, retryAfter: "1" } : undefined),
    });
    const esUrl = await es.listen();
    const dir = tempDir();
    dirs.push(dir);
    const args = [
      "--data",
      dir,
      "--http",
      "127.0.0.1:0",
      "--tcp",
      "off",
      "--udp",
      "off",
      "--elasticsearch",
      esUrl,
    ];
    try {
      const first = await serveCli(args);
      const total = 40;
      const acked = new Set<number>();
      let next = 0;
      let killed = false;
      const client = async (): Promise<void> => {
        while (next < total) {
          const index = next++;
          try {
            const response = await post(first.url, eventLines(BATCH, `b${index}`).join("\n"));
            if (response.status === 200) acked.add(index);
          } catch {
            // The process is gone: this batch was not acknowledged.
          }
          if (!killed && acked.size >= 12) {
            killed = true;
            first.child.kill("SIGKILL");
          }
        }
      };
      await Promise.all(Array.from({ length: 4 }, client));
      await first.exited;
      assert.ok(killed && acked.size >= 12, `${acked.size} batches acknowledged before kill -9`);
      assert.equal(es.storedCount(), 0, "nothing reached Elasticsearch while it was down");

      // Elasticsearch comes back; the restarted intake delivers what its disk buffer holds.
      down = false;
      const second = await serveCli(args);
      try {
        await eventually(() => {
          const hosts = new Map<string, number>();
          for (const doc of storedById(es).byId.values())
            hosts.set(hostOf(doc), (hosts.get(hostOf(doc)) ?? 0) + 1);
          return [...acked].every((index) => hosts.get(`host-b${index}`) === BATCH);
        }, 30_000);
        const { byId, copies } = storedById(es);
        assert.equal(copies, byId.size, "no _id is stored in two indices");
        for (const [id, doc] of byId) {
          assert.equal((doc.event as { id?: string }).id, id, "_id is event.id");
          assert.deepEqual(doc.data_stream, {
            type: "logs",
            dataset: "tanium_ecs.recorder",
            namespace: "default",
          });
        }
        assert.deepEqual([...es.indices.keys()], ["logs-tanium_ecs.recorder-default"]);
      } finally {
        second.child.kill("SIGTERM");
        assert.equal(await second.exited, 0);
      }
    } finally {
      await es.close();
    }
  });
});

describe("serve with sinks from a config file", () => {
  it("delivers to Elasticsearch and Splunk at once, secrets from the environment, refused documents as dead letters", async () => {
    const es = new FakeElasticsearch({
      // A mapping conflict for one event of each batch: Elasticsearch refuses it for good.
      itemFault: (item) =>
        String((item.doc.file as { path?: string } | undefined)?.path ?? "").endsWith("file-7.txt")
          ? { status: 400, type: "mapper_parsing_exception", reason: "failed to parse field [file.path]" }
          : undefined,
    });
    const esUrl = await es.listen();
    const splunk = await new FakeSplunk({ token: "hec-s3cret" }).start();
    const dir = tempDir();
    dirs.push(dir);
    const path = join(dir, "tanium-ecs.yaml");
    writeFileSync(
      path,
      [
        "sinks:",
        "  search:",
        "    type: elasticsearch",
        `    url: ${esUrl}`,
        "  splunk:",
        "    type: splunk_hec",
        `    url: ${splunk.url}`,
        "    token: ${HEC_TOKEN}",
        "    index: tanium",
      ].join("\n"),
    );
    const config = resolveConfig({
      file: { path, settings: readConfigFile(path, { HEC_TOKEN: "hec-s3cret" }) },
      flags: { http: "127.0.0.1:0", tcp: "off", udp: "off", data: dir, "batch-ms": "10" },
    });
    const handle = await startServer(config, { logger: pino({ level: "silent" }) });
    try {
      const url = `http://127.0.0.1:${handle.inputs[0]!.port}`;
      const answer = await post(url, eventLines(20, "cfg").join("\n"));
      assert.equal(answer.status, 200);
      await eventually(() => es.storedCount() === 19 && splunk.entries.length >= 20, 15_000);
      const ids = new Set(
        splunk.entries.map((e) => String((e.fields as Record<string, unknown>)["event.id"])),
      );
      assert.equal(ids.size, 20, "Splunk has every event with its event.id");
      assert.ok(splunk.entries.every((e) => e.index === "tanium" && e.sourcetype === "tanium:ecs"));
      await eventually(async () => {
        const rows = await handle.store.query(
          "SELECT message, input FROM dead_letters WHERE code = 'ERR_SINK_REJECTED'",
        );
        return rows.rows.length === 1;
      }, 15_000);
      const rows = await handle.store.query(
        "SELECT message, input FROM dead_letters WHERE code = 'ERR_SINK_REJECTED'",
      );
      assert.match(
        String(rows.rows[0]![0]),
        /sink search rejected the document: .*mapper_parsing_exception.*file\.path/,
      );
      // No sink here is queryable: /api says so instead of querying a store that holds no events.
      const api = await fetch(`${url}/api/query`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ sql: "SELECT 1" }),
      });
      assert.equal(api.status, 404);
    } finally {
      await handle.close();
      await es.close();
      await splunk.close();
    }
  });

  it("names the file and the key of a bad sink setting, and a missing variable", () => {
    const dir = tempDir();
    dirs.push(dir);
    const path = join(dir, "bad.yaml");
    writeFileSync(path, "sinks:\n  es:\n    type: elasticsearch\n    url: ftp://nope\n");
    assert.throws(() => readConfigFile(path, {}), /config file .*bad\.yaml: sinks\.es\.url: /);
    writeFileSync(
      path,
      "sinks:\n  hec:\n    type: splunk_hec\n    url: https://splunk:8088\n    token: ${NOPE}\n",
    );
    assert.throws(
      () => readConfigFile(path, {}),
      /sinks\.hec\.token: the environment variable NOPE is not set/,
    );
  });
});

describe("serve --splunk-hec", () => {
  it("delivers with no config file, and a full disk buffer answers 503 with Retry-After", async () => {
    const splunk = await new FakeSplunk({ token: "t0ken" }).start();
    const dir = tempDir();
    dirs.push(dir);
    const config = resolveConfig({
      flags: {
        http: "127.0.0.1:0",
        tcp: "off",
        udp: "off",
        data: dir,
        "splunk-hec": splunk.url,
        "splunk-token": "t0ken",
      },
    });
    const handle = await startServer(config, { logger: pino({ level: "silent" }) });
    const url = `http://127.0.0.1:${handle.inputs[0]!.port}`;
    try {
      assert.equal((await post(url, eventLines(30, "hec").join("\n"))).status, 200);
      await eventually(() => splunk.entries.length >= 30, 15_000);
      assert.deepEqual(new Set(splunk.entries.map((e) => e.sourcetype)), new Set(["tanium:ecs"]));
    } finally {
      await handle.close();
    }

    // A buffer of 1 MiB, Splunk refusing the token (it stays in the buffer): intake pushes back.
    splunk.token = "rotated";
    const path = join(dir, "small.yaml");
    writeFileSync(
      path,
      `sinks:\n  hec:\n    type: splunk_hec\n    url: ${splunk.url}\n    token: t0ken\n    buffer: { max_bytes: 1048576 }\n`,
    );
    const small = await startServer(
      resolveConfig({
        file: { path, settings: readConfigFile(path, {}) },
        flags: { http: "127.0.0.1:0", tcp: "off", udp: "off", data: dir },
      }),
      { logger: pino({ level: "silent" }) },
    );
    const smallUrl = `http://127.0.0.1:${small.inputs[0]!.port}`;
    try {
      let refused: Response | undefined;
      for (let i = 0; i < 200 && refused === undefined; i++) {
        const response = await post(smallUrl, eventLines(100, `full${i}`).join("\n"));
        if (response.status === 503) refused = response;
        else assert.equal(response.status, 200);
      }
      assert.ok(refused !== undefined, "a full buffer refused a batch");
      assert.ok(refused.headers.get("retry-after") !== null);
      const health = await fetch(`${smallUrl}/healthz`);
      assert.equal(health.status, 503);
      assert.match(JSON.stringify(await health.json()), /sink_buffer_full|sink_failing/);
    } finally {
      await small.close();
      await splunk.close();
    }
  });
});

/**
 * One HTTP request must not take the server down: a real `tanium-ecs serve` process, default
 * settings, under 8 concurrent 16 MiB bodies of junk and a gzip bomb, with /healthz polled
 * throughout. Bounded: a fixed number of requests, each of a fixed size.
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { request } from "node:http";
import { gzipSync } from "node:zlib";
import { stores } from "../src/store/index.ts";
import { spawnServer } from "./server-spawn.ts";

const MIB = 1024 * 1024;

/** POST with node:http (a fetch body would be copied once more in this process). */
function post(
  url: string,
  body: Buffer,
  headers: Record<string, string>,
): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(`${url}/ingest`, {
      method: "POST",
      headers: { ...headers, "content-length": String(body.length) },
    });
    req.on("response", (res) => {
      let text = "";
      res.setEncoding("utf8");
      res.on("data", (chunk: string) => (text += chunk));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body: text }));
    });
    req.on("error", reject);
    req.end(body);
  });
}

/** 16 MiB of junk lines: 256 distinct texts (per body tag) repeated, none of them JSON. */
function junkBody(tag: string): { body: Buffer; lines: number } {
  const distinct = Array.from({ length: 256 }, (_, i) => `junk ${tag} ${i} ${"#".repeat(40 + (i % 50))}`);
  const parts: string[] = [];
  let bytes = 0;
  let lines = 0;
  for (let i = 0; bytes < 16 * MIB - 200; i++) {
    const line = `${distinct[i % distinct.length]}\n`;
    parts.push(line);
    bytes += line.length;
    lines++;
  }
  return { body: Buffer.from(parts.join("")), lines };
}

describe("HTTP under hostile load (a server process, default settings)", () => {
  it(
    "keeps /healthz answering, stays under 512 MB and counts every dead letter",
    { timeout: 240_000 },
    async (t) => {
      const server = await spawnServer();
      try {
        const bodies = Array.from({ length: 8 }, (_, i) => junkBody(`b${i}`));
        // 4 MiB of `x\n` compresses to about 4 KB: 2,097,152 identical dead letters.
        const bomb = gzipSync(Buffer.from("x\n".repeat(2 * MIB)));
        assert.ok(bomb.length < 16 * 1024);

        let polling = true;
        let worstHealthMs = 0;
        let polls = 0;
        const poller = (async () => {
          while (polling) {
            const start = performance.now();
            const res = await fetch(`${server.url}/healthz`, { signal: AbortSignal.timeout(30_000) });
            await res.text();
            worstHealthMs = Math.max(worstHealthMs, performance.now() - start);
            polls++;
            await new Promise((resolve) => setTimeout(resolve, 50));
          }
        })();

        const answers = await Promise.all([
          ...bodies.map((b) => post(server.url, b.body, { "content-type": "text/plain" })),
          post(server.url, bomb, { "content-type": "text/plain", "content-encoding": "gzip" }),
        ]);
        polling = false;
        await poller;

        // Each answer is a commit (200) or a refusal with nothing claimed (503 + retry); resend
        // the refused ones once the queue has room, as a sender would.
        const expected = new Map<string, number>();
        const payloads = [...bodies.map((b) => b.body), bomb];
        for (let i = 0; i < answers.length; i++) {
          let answer = answers[i]!;
          for (let attempt = 0; answer.status === 503 && attempt < 20; attempt++) {
            await new Promise((resolve) => setTimeout(resolve, 500));
            answer = await post(server.url, payloads[i]!, {
              "content-type": "text/plain",
              ...(i === 8 ? { "content-encoding": "gzip" } : {}),
            });
          }
          assert.equal(answer.status, 200, answer.body);
          const lines = i === 8 ? 2 * MIB : bodies[i]!.lines;
          assert.deepEqual(JSON.parse(answer.body), { accepted: 0, dead_letters: lines });
          expected.set(i === 8 ? "x" : `junk b${i} %`, lines);
        }

        const stopped = await server.stop();
        t.diagnostic(
          `peak RSS ${Math.round((stopped.maxRssBytes ?? NaN) / MIB)} MiB, /healthz worst ${Math.round(worstHealthMs)} ms over ${polls} polls`,
        );
        assert.equal(stopped.code, 0);
        assert.ok(polls > 5, `polled /healthz ${polls} times`);
        assert.ok(worstHealthMs < 2_000, `/healthz took up to ${Math.round(worstHealthMs)} ms`);
        assert.ok(stopped.maxRssBytes !== undefined, "the server reported its peak RSS");
        assert.ok(stopped.maxRssBytes < 512 * MIB, `peak RSS ${Math.round(stopped.maxRssBytes / MIB)} MiB`);

        const store = await stores.duckdb({ dataDir: server.dir });
        try {
          const x = await store.query(`SELECT count(*), sum(count) FROM dead_letters WHERE original = 'x'`);
          assert.deepEqual(x.rows, [[1, 2 * MIB]]);
          for (let i = 0; i < 8; i++) {
            const junk = await store.query(
              `SELECT count(*), sum(count) FROM dead_letters WHERE original LIKE 'junk b${i} %'`,
            );
            assert.deepEqual(junk.rows, [[256, expected.get(`junk b${i} %`)]]);
          }
        } finally {
          await store.close();
        }
      } finally {
        if (server.child.exitCode === null) await server.stop();
        server.cleanup();
      }
    },
  );
});

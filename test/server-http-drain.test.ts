/**
 * SIGTERM with slow senders: a `tanium-ecs serve` process holding 120 bodies that never finish
 * exits, status 0, within --drain-timeout and a margin, and what it acknowledged before is stored.
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { request } from "node:http";
import { stores } from "../src/store/index.ts";
import { eventLines } from "./server-helpers.ts";
import { spawnServer } from "./server-spawn.ts";

describe("graceful stop with slow HTTP senders", () => {
  it(
    "exits 0 within drain-timeout + a margin, and keeps what it acknowledged",
    { timeout: 120_000 },
    async () => {
      const server = await spawnServer(["--drain-timeout", "2"]);
      const statuses: Promise<number>[] = [];
      const requests: ReturnType<typeof request>[] = [];
      try {
        const done = await fetch(`${server.url}/ingest`, {
          method: "POST",
          headers: { "content-type": "application/x-ndjson" },
          body: eventLines(5, "before-stop").join("\n"),
        });
        assert.equal(done.status, 200);

        for (let i = 0; i < 120; i++) {
          // A declared length (so admission reserves little) and only the first line sent.
          const req = request(`${server.url}/ingest`, {
            method: "POST",
            headers: { "content-type": "application/x-ndjson", "content-length": "100000" },
          });
          statuses.push(
            new Promise((resolve) => {
              req.on("response", (res) => {
                res.resume();
                resolve(res.statusCode ?? 0);
              });
              req.on("error", () => resolve(0));
            }),
          );
          req.write(`${eventLines(1, `slow${i}`)[0]}\n`);
          requests.push(req);
        }
        // Every request has reached the server (its first line is framed) before the signal.
        await new Promise((resolve) => setTimeout(resolve, 1_000));

        const stopped = await server.stop();
        assert.equal(stopped.code, 0);
        assert.ok(stopped.ms < 2_000 + 8_000, `exited after ${stopped.ms} ms`);
        // Each slow sender got an answer that claims nothing (503), or its connection was cut.
        for (const status of await Promise.all(statuses))
          assert.ok(status === 503 || status === 0, `status ${status}`);

        const store = await stores.duckdb({ dataDir: server.dir });
        try {
          const stored = await store.query(
            `SELECT count(*) FROM events WHERE "host.name" = 'host-before-stop'`,
          );
          assert.deepEqual(stored.rows, [[5]]);
        } finally {
          await store.close();
        }
      } finally {
        for (const req of requests) req.destroy();
        if (server.child.exitCode === null) await server.stop();
        server.cleanup();
      }
    },
  );
});

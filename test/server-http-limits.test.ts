/**
 * The HTTP input's limits and promises, on a real server and store: 200 only once every slice of
 * a body is committed, 503 with nothing claimed when a slice fails, admission by the queue's
 * byte cap, the body and header timeouts, and a /healthz that tells the truth.
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { request } from "node:http";
import { connect } from "node:net";
import type { EventStore } from "../src/store/store.ts";
import {
  eventLines,
  eventually,
  scalar,
  slowStore,
  startTestServer,
  type TestServer,
} from "./server-helpers.ts";

const NDJSON = { "content-type": "application/x-ndjson" };

async function post(
  server: TestServer,
  body: string | Uint8Array,
  headers: Record<string, string>,
): Promise<{ status: number; headers: Headers; body: unknown }> {
  const response = await fetch(`${server.url}/ingest`, { method: "POST", headers, body });
  const text = await response.text();
  return { status: response.status, headers: response.headers, body: JSON.parse(text) as unknown };
}

interface HealthBody {
  readonly status: string;
  readonly queue?: { readonly depth: number };
  readonly store?: { readonly ok: boolean; readonly code?: string };
}

async function health(server: TestServer): Promise<{ status: number; text: string; body: HealthBody }> {
  const response = await fetch(`${server.url}/healthz`);
  const text = await response.text();
  return { status: response.status, text, body: JSON.parse(text) as HealthBody };
}

/** The real store; its writes throw while `state.broken` (fault injection: a disk that fails). */
function flakyStore(store: EventStore, state: { broken: boolean; failAfter?: number }): EventStore {
  let writes = 0;
  return {
    name: store.name,
    async write(batch) {
      writes++;
      if (state.broken || (state.failAfter !== undefined && writes > state.failAfter)) {
        throw new Error("IO Error: injected write failure");
      }
      return store.write(batch);
    },
    query: (sql, options) => store.query(sql, options),
    close: () => store.close(),
  };
}

/**
 * A POST whose body is sent slowly: `first` at once, then nothing. Resolves with the status of
 * the answer (which may come before the body is complete) or 0 if the connection was cut.
 */
function slowPost(
  server: TestServer | { url: string },
  headers: Record<string, string>,
  first: string,
): { answered: Promise<{ status: number; body: string }>; abort: () => void } {
  const req = request(`${server.url}/ingest`, { method: "POST", headers });
  const answered = new Promise<{ status: number; body: string }>((resolve) => {
    req.on("response", (res) => {
      let text = "";
      res.setEncoding("utf8");
      res.on("data", (chunk: string) => (text += chunk));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body: text }));
      res.on("error", () => resolve({ status: res.statusCode ?? 0, body: text }));
    });
    req.on("error", () => resolve({ status: 0, body: "" }));
  });
  req.flushHeaders();
  req.write(first);
  return { answered, abort: () => req.destroy() };
}

describe("HTTP bodies in slices", () => {
  it("acknowledges a body of many slices only once all of it is committed", async () => {
    const server = await startTestServer();
    try {
      // 3,000 distinct events: 6 slices of 512 normalized texts.
      const answer = await post(server, eventLines(3000, "slices").join("\n"), NDJSON);
      assert.deepEqual([answer.status, answer.body], [200, { accepted: 3000, dead_letters: 0 }]);
      assert.equal(
        Number(await scalar(server, `SELECT count(*) FROM events WHERE "host.name" = 'host-slices'`)),
        3000,
      );
    } finally {
      await server.stop();
    }
  });

  it("answers 503 and claims nothing when a later slice fails; the resend is stored once", async () => {
    const state: { broken: boolean; failAfter?: number } = { broken: false, failAfter: 1 };
    const server = await startTestServer({ "batch-max": "512" }, (store) => flakyStore(store, state));
    try {
      const body = eventLines(3000, "partial").join("\n");
      const failed = await post(server, body, NDJSON);
      assert.equal(failed.status, 503);
      assert.equal((failed.body as { error: { code: string } }).error.code, "ERR_STORE_WRITE");
      assert.equal(failed.headers.get("retry-after"), "1");
      delete state.failAfter;
      const resent = await post(server, body, NDJSON);
      assert.deepEqual([resent.status, resent.body], [200, { accepted: 3000, dead_letters: 0 }]);
      assert.equal(
        Number(await scalar(server, `SELECT count(*) FROM events WHERE "host.name" = 'host-partial'`)),
        3000,
      );
    } finally {
      await server.stop();
    }
  });

  it("refuses a body 503 ERR_BUSY when the bodies being read would exceed the queue's byte cap", async () => {
    const server = await startTestServer({ "queue-max-bytes": "100000", "max-body-bytes": "60000" });
    const held = slowPost(
      server,
      { ...NDJSON, "transfer-encoding": "chunked" },
      `${eventLines(1, "held")[0]}\n`,
    );
    try {
      // The held body (size unknown) reserves the body cap, 60,000 of 100,000 bytes.
      await eventually(async () => {
        const refused = await post(server, eventLines(1, "second").join("\n"), {
          ...NDJSON,
          "content-encoding": "gzip",
        }).catch(() => undefined);
        return (
          refused?.status === 503 && (refused.body as { error: { code: string } }).error.code === "ERR_BUSY"
        );
      });
      // A small body of known length still fits.
      const small = await post(server, eventLines(2, "small").join("\n"), NDJSON);
      assert.equal(small.status, 200);
    } finally {
      held.abort();
      await server.stop();
    }
  });
});

describe("HTTP timeouts", () => {
  it("answers 408 to a body that has not arrived within body-timeout, and closes", async () => {
    const server = await startTestServer({ "body-timeout": "1" });
    try {
      const start = Date.now();
      const slow = slowPost(
        server,
        { ...NDJSON, "content-length": "100000" },
        `${eventLines(1, "slow")[0]}\n`,
      );
      const answer = await slow.answered;
      const waited = Date.now() - start;
      assert.equal(answer.status, 408);
      assert.equal((JSON.parse(answer.body) as { error: { code: string } }).error.code, "ERR_BODY_TIMEOUT");
      assert.ok(waited >= 900 && waited < 10_000, `answered after ${waited} ms`);
      slow.abort();
    } finally {
      await server.stop();
    }
  });

  it("closes a connection whose headers do not arrive within header-timeout", async () => {
    const server = await startTestServer({ "header-timeout": "1" });
    try {
      const port = Number(new URL(server.url).port);
      const start = Date.now();
      const socket = connect(port, "127.0.0.1");
      socket.write("POST /ingest HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ");
      let text = "";
      socket.setEncoding("utf8");
      socket.on("data", (chunk: string) => (text += chunk));
      await new Promise<void>((resolve) => socket.on("close", () => resolve()));
      const waited = Date.now() - start;
      assert.ok(waited >= 900 && waited < 10_000, `closed after ${waited} ms`);
      assert.match(text, /^HTTP\/1\.1 408/);
    } finally {
      await server.stop();
    }
  });
});

describe("/healthz tells the truth", () => {
  it("answers 503 while commits fail, 200 once one succeeds, and shows no path", async () => {
    const state = { broken: true };
    const server = await startTestServer({}, (store) => flakyStore(store, state));
    try {
      assert.equal((await health(server)).status, 200);
      const failed = await post(server, eventLines(3, "flaky").join("\n"), NDJSON);
      assert.equal(failed.status, 503);
      const down = await health(server);
      assert.equal(down.status, 503);
      assert.equal(down.body.status, "store_write_failing");
      assert.ok(!down.text.includes(server.dir), "no file system path in /healthz");
      state.broken = false;
      const ok = await post(server, eventLines(3, "flaky").join("\n"), NDJSON);
      assert.equal(ok.status, 200);
      const up = await health(server);
      assert.equal(up.status, 200);
      assert.ok(!up.text.includes(server.dir), "no file system path in /healthz");
    } finally {
      await server.stop();
    }
  });

  it("answers at once while a commit is under way, without waiting for a query behind it", async () => {
    // Once a write begins it takes 1.5 s and queries hang: /healthz must not ask the store mid-write.
    let releaseQueries = (): void => {};
    const queriesHang = new Promise<void>((resolve) => (releaseQueries = resolve));
    let writing = false;
    const server = await startTestServer({}, (store) => {
      const slow = slowStore(store, 1500);
      return {
        ...slow,
        write: (batch) => {
          writing = true;
          return slow.write(batch);
        },
        query: async (sql, options) => {
          if (writing) await queriesHang;
          return store.query(sql, options);
        },
      };
    });
    try {
      const pending = post(server, eventLines(5, "busy").join("\n"), NDJSON);
      await eventually(async () => {
        const answer = await Promise.race([
          health(server),
          new Promise<undefined>((resolve) => setTimeout(resolve, 1000, undefined)),
        ]);
        assert.ok(answer !== undefined, "/healthz answered while a commit was under way");
        return answer.body.queue?.depth === 5;
      });
      const during = await health(server);
      assert.equal(during.status, 200);
      assert.equal(during.body.status, "ok");
      assert.equal((await pending).status, 200);
    } finally {
      releaseQueries();
      await server.stop();
    }
  });

  it("answers 503 store_unavailable once the background probe of an idle store fails, 200 after a commit", async () => {
    const state = { down: true };
    const server = await startTestServer(
      {},
      (store) => ({
        ...store,
        write: (batch) => store.write(batch),
        close: () => store.close(),
        query: async (sql, options) => {
          if (state.down) throw Object.assign(new Error("the store is gone"), { code: "ERR_STORE_DOWN" });
          return store.query(sql, options);
        },
      }),
      { probeEveryMs: 50, recentCommitMs: 0 },
    );
    try {
      await eventually(async () => (await health(server)).body.status === "store_unavailable");
      const down = await health(server);
      assert.equal(down.status, 503);
      assert.deepEqual(down.body.store, { ok: false, code: "ERR_STORE_DOWN" });
      state.down = false;
      assert.equal((await post(server, eventLines(2, "back").join("\n"), NDJSON)).status, 200);
      assert.equal((await health(server)).status, 200);
    } finally {
      await server.stop();
    }
  });

  it("answers 503 store_stalled while a commit has not ended past the limit, at once", async () => {
    let release = (): void => {};
    const stuck = new Promise<void>((resolve) => (release = resolve));
    const server = await startTestServer(
      {},
      (store) => ({
        ...store,
        write: async (batch) => {
          await stuck;
          return store.write(batch);
        },
        query: (sql, options) => store.query(sql, options),
        close: () => store.close(),
      }),
      { stalledMs: 300 },
    );
    try {
      const pending = post(server, eventLines(3, "stuck").join("\n"), NDJSON);
      await eventually(async () => (await health(server)).body.status === "store_stalled");
      assert.equal((await health(server)).status, 503);
      release();
      assert.equal((await pending).status, 200);
      assert.equal((await health(server)).status, 200);
    } finally {
      release();
      await server.stop();
    }
  });

  it("answers 503 queue_full while the queue is full", async () => {
    const server = await startTestServer({ "queue-max": "10" }, (store) => slowStore(store, 1500));
    try {
      const pending = post(server, eventLines(20, "full").join("\n"), NDJSON);
      await eventually(async () => (await health(server)).body.status === "queue_full");
      assert.equal((await health(server)).status, 503);
      assert.equal((await pending).status, 200);
      await eventually(async () => (await health(server)).status === 200);
    } finally {
      await server.stop();
    }
  });
});

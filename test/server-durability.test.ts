import { after, describe, it } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { stores } from "../src/store/index.ts";
import { REPO_ROOT } from "./helpers.ts";
import { eventLines, tempDir } from "./server-helpers.ts";
import { BIN, serveCli as serve } from "./server-spawn.ts";

const BATCH = 100;

async function postBatch(url: string, index: number): Promise<number> {
  const response = await fetch(`${url}/ingest`, {
    method: "POST",
    headers: { "content-type": "application/x-ndjson" },
    body: eventLines(BATCH, `b${index}`).join("\n"),
  });
  const body = (await response.json()) as { accepted?: number };
  if (response.status === 200) assert.equal(body.accepted, BATCH);
  return response.status;
}

async function query(url: string, sql: string): Promise<unknown[][]> {
  const response = await fetch(`${url}/api/query`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ sql }),
  });
  assert.equal(response.status, 200);
  return ((await response.json()) as { rows: unknown[][] }).rows;
}

const dirs: string[] = [];
after(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

describe("durability of the real server process", () => {
  it("keeps every acknowledged event, once, through kill -9 and a restart", async () => {
    const dir = tempDir();
    dirs.push(dir);
    const args = ["--data", dir, "--http", "127.0.0.1:0", "--tcp", "off", "--udp", "off"];
    const first = await serve(args);
    const total = 80;
    const acked = new Set<number>();
    let next = 0;
    let killed = false;
    const client = async (): Promise<void> => {
      while (next < total) {
        const index = next++;
        try {
          if ((await postBatch(first.url, index)) === 200) acked.add(index);
        } catch {
          // The process is gone: this batch was not acknowledged.
        }
        if (!killed && acked.size >= 15) {
          killed = true;
          first.child.kill("SIGKILL");
        }
      }
    };
    await Promise.all(Array.from({ length: 6 }, client));
    await first.exited;
    assert.ok(killed, "the server was killed mid-load");
    assert.ok(acked.size >= 15 && acked.size < total, `${acked.size} batches acknowledged`);

    const second = await serve(args);
    try {
      const rows = await query(second.url, `SELECT "host.name", count(*) FROM events GROUP BY 1`);
      const byBatch = new Map(rows.map(([host, n]) => [String(host), Number(n)]));
      for (const index of acked) assert.equal(byBatch.get(`host-b${index}`), BATCH, `batch ${index}`);
      // A batch is one transaction: none is there in part.
      for (const n of byBatch.values()) assert.equal(n, BATCH);
      const [[all, distinct]] = (await query(
        second.url,
        `SELECT count(*), count(DISTINCT "event.id") FROM events`,
      )) as [[number, number]];
      assert.equal(all, distinct);

      // The sender retries what was not acknowledged; what was stored already is not stored twice.
      for (let index = 0; index < total; index++) {
        if (!acked.has(index)) assert.equal(await postBatch(second.url, index), 200);
      }
      const [[after, afterDistinct]] = (await query(
        second.url,
        `SELECT count(*), count(DISTINCT "event.id") FROM events`,
      )) as [[number, number]];
      assert.equal(after, total * BATCH);
      assert.equal(afterDistinct, total * BATCH);
    } finally {
      second.child.kill("SIGTERM");
      assert.equal(await second.exited, 0);
    }
  });

  it("on SIGTERM answers the requests in flight, commits them, and exits 0", async () => {
    const dir = tempDir();
    dirs.push(dir);
    // Batches wait 400 ms to fill, so the requests are still in flight when the signal comes.
    const served = await serve([
      "--data",
      dir,
      "--http",
      "127.0.0.1:0",
      "--tcp",
      "off",
      "--udp",
      "off",
      "--batch-ms",
      "400",
    ]);
    const answers = Array.from({ length: 8 }, (_, i) => postBatch(served.url, i));
    await new Promise((resolve) => setTimeout(resolve, 150));
    served.child.kill("SIGTERM");
    assert.deepEqual(
      await Promise.all(answers),
      Array.from({ length: 8 }, () => 200),
    );
    assert.equal(await served.exited, 0, served.stderr());

    const store = await stores.duckdb({ dataDir: dir, readOnly: true });
    try {
      const result = await store.query(`SELECT count(*), count(DISTINCT "event.id") FROM events`);
      assert.deepEqual(result.rows, [[8 * BATCH, 8 * BATCH]]);
    } finally {
      await store.close();
    }
  });
});

describe("serve settings from a config file", () => {
  it("starts from a YAML file, flags overriding it", async () => {
    const dir = tempDir();
    dirs.push(dir);
    const file = join(dir, "serve.yaml");
    writeFileSync(
      file,
      `http: 127.0.0.1:0\ntcp: "off"\nudp: off\ndata: ${JSON.stringify(join(dir, "data"))}\nbatch-ms: 5\n`,
    );
    const served = await serve(["--config", file, "--batch-max", "10"]);
    try {
      assert.equal(await postBatch(served.url, 1), 200);
    } finally {
      served.child.kill("SIGINT");
      assert.equal(await served.exited, 0);
    }
  });

  for (const [name, content, pattern] of [
    ["bad.yaml", "http: 127.0.0.1:0\nqueue-maxx: 5\n", /unknown key "queue-maxx"/],
    [
      "bad.json",
      '{"http": "127.0.0.1:0", "batch-max": "lots"}',
      /"batch-max" \(config file .*bad\.json\) must be a whole number/,
    ],
    ["bind.json", '{"http": "0.0.0.0:0"}', /binds 0\.0\.0\.0, which is not loopback: without a token/],
    ["tls.yaml", "tls-cert: cert.pem\n", /--tls-cert and --tls-key go together/],
  ] as const) {
    it(`exits 1 naming the bad setting (${name})`, async () => {
      const dir = tempDir();
      dirs.push(dir);
      const file = join(dir, name);
      writeFileSync(file, content);
      const child = spawn(process.execPath, [BIN, "serve", "--config", file, "--data", join(dir, "data")], {
        cwd: REPO_ROOT,
        env: { ...process.env, TANIUM_ECS_TOKEN: "" },
        stdio: ["ignore", "pipe", "pipe"],
      });
      let stderr = "";
      child.stderr.setEncoding("utf8").on("data", (d: string) => (stderr += d));
      const code = await new Promise<number | null>((resolve) => child.once("exit", resolve));
      assert.equal(code, 1);
      assert.match(stderr, pattern);
    });
  }

  it("exits 1 naming a bad flag", async () => {
    const child = spawn(process.execPath, [BIN, "serve", "--http", "127.0.0.1:99999"], {
      cwd: REPO_ROOT,
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stderr = "";
    child.stderr.setEncoding("utf8").on("data", (d: string) => (stderr += d));
    const code = await new Promise<number | null>((resolve) => child.once("exit", resolve));
    assert.equal(code, 1);
    assert.match(stderr, /--http must be ADDRESS:PORT/);
  });
});

/**
 * Host enrichment through the real server: an inventory row, then a recorder event of the same
 * host with no OS of its own; the stored event has `host.os.*` and the tag, read back with the
 * query API; after a restart the host table still knows the host.
 */
import assert from "node:assert/strict";
import { rmSync } from "node:fs";
import { after, describe, it } from "node:test";
import { pino } from "pino";
import { HOST_ENRICHED_TAG } from "../src/enrich/hosts.ts";
import { resolveConfig } from "../src/server/config.ts";
import { startServer } from "../src/server/server.ts";
import { samplesOf } from "./helpers.ts";
import { startTestServer } from "./server-helpers.ts";

function recorderLine(hostname: string, n: number): string {
  return JSON.stringify({
    event: "process_start",
    hostname,
    host: "10.0.0.9",
    timestamp: "2026-01-01T00:00:00.000000+00:00",
    tanium_computer_id: "424242",
    fields: {
      pid: 100 + n,
      file__full_path: "/usr/bin/curl",
      command_line: `curl -s x${n}`,
    },
  });
}

async function ingest(url: string, lines: readonly string[]): Promise<void> {
  const response = await fetch(`${url}/ingest`, {
    method: "POST",
    headers: { "content-type": "application/x-ndjson" },
    body: `${lines.join("\n")}\n`,
  });
  assert.equal(response.status, 200, await response.text());
}

async function query(url: string, sql: string): Promise<unknown[][]> {
  const response = await fetch(`${url}/api/query`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ sql }),
  });
  const body = (await response.json()) as { rows: unknown[][] };
  assert.equal(response.status, 200, JSON.stringify(body));
  return body.rows;
}

const ENRICHED = `SELECT doc->>'$.process.pid' AS pid, doc->>'$.host.os.name' AS os, doc->>'$.host.os.type' AS type,
  coalesce(list_contains(CAST(doc->'$.tags' AS VARCHAR[]), '${HOST_ENRICHED_TAG}'), false) AS tagged
  FROM events WHERE "event.dataset" = 'tanium.recorder' ORDER BY pid`;

describe("host enrichment in the server", () => {
  const dirs: string[] = [];
  after(() => {
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  });

  it("fills host.os on a later recorder event of the inventoried host, and remembers it across a restart", async () => {
    // The Ubuntu host's alert: its system_info names the OS (an inventory fact).
    const alert = samplesOf("alert", "detect").find((line) => line.includes("Ubuntu 22.04.4"));
    assert.ok(alert !== undefined);
    const server = await startTestServer({ tcp: "off", udp: "off" });
    dirs.push(server.dir);
    const host = "web-07.prod.example.net";
    try {
      // Before the inventory row: nothing known, nothing filled.
      await ingest(server.url, [recorderLine(host, 1)]);
      await ingest(server.url, [alert, recorderLine(host, 2)]);
      assert.deepEqual(await query(server.url, ENRICHED), [
        ["101", null, null, false],
        ["102", "Ubuntu", "linux", true],
      ]);
    } finally {
      await server.handle.close();
    }

    const again = await startServer(
      resolveConfig({ flags: { http: "127.0.0.1:0", tcp: "off", udp: "off", data: server.dir } }),
      { logger: pino({ level: "silent" }) },
    );
    try {
      const url = `http://127.0.0.1:${again.inputs[0]!.port}`;
      await ingest(url, [recorderLine(host.toUpperCase(), 3)]);
      const rows = await query(url, ENRICHED);
      assert.deepEqual(rows.at(-1), ["103", "Ubuntu", "linux", true]);
    } finally {
      await again.close();
    }
  });
});

/**
 * Host enrichment: inventory rows teach what a host runs, later recorder events of that host get
 * `host.os.*` and the `tanium_ecs_host_enriched` tag; the library's `normalize` takes the lookup
 * as an option; the DuckDB store keeps the table across a reopen.
 */
import assert from "node:assert/strict";
import { readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import type { EcsDocument } from "../src/ecs/document.ts";
import { HOST_ENRICHED_TAG, HostDirectory } from "../src/enrich/hosts.ts";
import { normalize } from "../src/normalize.ts";
import { stores } from "../src/store/index.ts";
import { REPO_ROOT } from "./helpers.ts";
import { tempDir } from "./server-helpers.ts";

const AT = "2026-01-01T00:00:00Z";
const EXAMPLES = readFileSync(join(REPO_ROOT, "examples", "all-shapes.ndjson"), "utf8")
  .split("\n")
  .filter((l) => l.trim() !== "");

function docOf(line: string, hosts?: HostDirectory): EcsDocument {
  const result = normalize(line, { receivedAt: AT, ...(hosts === undefined ? {} : { hosts: hosts.lookup }) });
  assert.ok(result.ok, result.ok ? "" : result.error.message);
  return result.doc;
}

/** A recorder line of the given host that says nothing of its OS. */
function recorderLine(hostname: string, computerId: string, n = 1): string {
  return JSON.stringify({
    event: "file_open",
    hostname,
    host: "10.0.0.9",
    timestamp: "2026-01-01T00:00:00.000000+00:00",
    tanium_computer_id: computerId,
    fields: { full_path: `/var/tmp/f-${n}`, read_flag: true, process__pid: 7 },
  });
}

/** The Ubuntu alert of the examples (its `system_info` names the OS; it has a host name, no id). */
const UBUNTU_ALERT = EXAMPLES.find((l) => l.includes("Ubuntu 22.04.4"));

test("an alert's system_info fills host.os on a later recorder event of the same host name, tagged", () => {
  assert.ok(UBUNTU_ALERT !== undefined, "the examples hold an alert from an Ubuntu host");
  const hosts = new HostDirectory();
  const alert = docOf(UBUNTU_ALERT);
  assert.equal(hosts.observe(alert), false, "an inventory document is not enriched itself");
  const name = alert.host?.name;
  assert.ok(name !== undefined);

  const before = docOf(recorderLine(name, "2876543210"));
  assert.equal(before.host?.os, undefined, "a recorder event alone has no OS");
  const recorder = docOf(recorderLine(name.toUpperCase(), "2876543210"), hosts);
  assert.deepEqual(recorder.host?.os, alert.host?.os);
  assert.ok(recorder.tags?.includes(HOST_ENRICHED_TAG));
});

test("the stage enriches in observe(), by host.id first, never overwriting what an event says", () => {
  const hosts = new HostDirectory();
  const inventory: EcsDocument = {
    "@timestamp": AT,
    ecs: { version: "9.4.0" },
    event: { kind: "state", dataset: "tanium.client_status" },
    host: { id: "42", name: "wks-1", os: { type: "windows", name: "Windows 11", version: "10.0.22631" } },
  };
  hosts.observe(inventory);
  const byId = docOf(recorderLine("renamed-host", "42"));
  assert.equal(hosts.observe(byId), true);
  assert.deepEqual(byId.host?.os, { type: "windows", name: "Windows 11", version: "10.0.22631" });

  const partial = docOf(recorderLine("wks-1", "999"));
  partial.host!.os = { type: "linux" };
  assert.equal(hosts.observe(partial), true);
  assert.equal(partial.host?.os?.type, "linux", "what the event said itself stays");
  assert.equal(partial.host?.os?.name, "Windows 11");

  const stranger = docOf(recorderLine("nobody", "1"));
  assert.equal(hosts.observe(stranger), false);
  assert.equal(stranger.host?.os, undefined);
  assert.equal(stranger.tags?.includes(HOST_ENRICHED_TAG) ?? false, false);
});

test("later inventory facts merge field by field, and only changes are handed to the store", () => {
  const hosts = new HostDirectory();
  const inv = (os: Record<string, string>): EcsDocument => ({
    "@timestamp": AT,
    ecs: { version: "9.4.0" },
    event: { kind: "asset", dataset: "tanium.discover" },
    host: { id: "7", os },
  });
  hosts.observe(inv({ type: "linux" }));
  assert.deepEqual(
    hosts.takeChanges().map((r) => [r.key, r.os]),
    [["id:7", { type: "linux" }]],
  );
  hosts.observe(inv({ type: "linux" }));
  assert.deepEqual(hosts.takeChanges(), [], "the same facts again are no change");
  hosts.observe(inv({ name: "Debian" }));
  assert.deepEqual(hosts.takeChanges()[0]?.os, { type: "linux", name: "Debian" });
});

test("the directory stays bounded whatever hosts senders invent; the stalest go first", () => {
  const hosts = new HostDirectory({ maxHosts: 100 });
  for (let i = 0; i < 10_000; i++) {
    hosts.observe({
      "@timestamp": AT,
      ecs: { version: "9.4.0" },
      event: { kind: "state", dataset: "tanium.report" },
      host: { name: `h-${i}`, os: { type: "linux" } },
    });
  }
  assert.equal(hosts.size, 100);
  assert.equal(hosts.lookup({ name: "h-0" }), undefined);
  assert.deepEqual(hosts.lookup({ name: "h-9999" }), { type: "linux" });
});

test("the DuckDB store keeps the host table across a reopen", async () => {
  const dir = tempDir();
  try {
    const store = await stores.duckdb({ dataDir: dir });
    assert.ok(store.saveHosts !== undefined && store.loadHosts !== undefined);
    await store.saveHosts([
      { key: "id:1", os: { type: "linux", name: "Ubuntu" }, seenAt: AT },
      { key: "name:wks-1", os: { type: "windows" }, seenAt: AT },
    ]);
    await store.saveHosts([{ key: "id:1", os: { type: "linux", name: "Debian" }, seenAt: AT }]);
    await store.close();
    const again = await stores.duckdb({ dataDir: dir, readOnly: true });
    const rows = (await again.loadHosts()).sort((a, b) => (a.key < b.key ? -1 : 1));
    await again.close();
    assert.deepEqual(rows, [
      { key: "id:1", os: { type: "linux", name: "Debian" }, seenAt: AT },
      { key: "name:wks-1", os: { type: "windows" }, seenAt: AT },
    ]);
    const directory = new HostDirectory();
    directory.load(rows);
    assert.equal(directory.lookup({ id: "1" })?.name, "Debian");
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("a saved-question report and a Discover row teach the host's OS too", () => {
  const hosts = new HostDirectory();
  for (const line of EXAMPLES.filter((l) => l.includes('"Computer Name"') || l.includes('"MacAddress"'))) {
    hosts.observe(docOf(line));
  }
  const recorder = docOf(recorderLine("db-02.corp.example.com", "1987654321"), hosts);
  assert.equal(recorder.host?.os?.type, "windows");
  assert.match(recorder.host?.os?.name ?? "", /Windows Server 2022/);
  assert.ok(recorder.tags?.includes(HOST_ENRICHED_TAG));
  const printer = docOf(recorderLine("printer-3f.corp.example.com", "5"), hosts);
  assert.equal(printer.host?.os?.type, "linux");
});

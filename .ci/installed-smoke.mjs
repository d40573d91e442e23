// The packed tarball as a user installs it: `tanium-ecs` from an empty global prefix, run from a
// folder outside the repository. normalize turns a sample into ECS; serve takes one event over
// HTTP on a free loopback port, answers after the commit, and exits 0 on SIGTERM; query then
// finds the event in the data folder.
// usage: node installed-smoke.mjs <tanium-ecs binary> <samples file> <empty work folder>
/* global fetch, setTimeout, clearTimeout -- Node globals the lint config does not list for .mjs */
import { spawn, spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { createInterface } from "node:readline";

const [bin, samplesFile, work] = process.argv.slice(2);
if (!bin || !samplesFile || !work) {
  console.error("usage: node installed-smoke.mjs <tanium-ecs binary> <samples file> <empty work folder>");
  process.exit(2);
}
const line = readFileSync(samplesFile, "utf8")
  .split("\n")
  .find((l) => l.startsWith('{"event":'));
const fail = (message) => {
  console.error(`installed-smoke: ${message}`);
  process.exit(1);
};

const normalized = spawnSync(bin, ["normalize"], { cwd: work, input: `${line}\n`, encoding: "utf8" });
if (normalized.status !== 0) fail(`normalize exited ${normalized.status}: ${normalized.stderr}`);
const doc = JSON.parse(normalized.stdout);
if (doc.ecs?.version !== "9.4.0" || doc.event?.dataset !== "tanium.recorder") {
  fail(`normalize gave an unexpected document: ${normalized.stdout.slice(0, 200)}`);
}
console.log(`normalize: ${doc.event.dataset} ${doc.event.action}`);

const serve = spawn(
  bin,
  ["serve", "--http", "127.0.0.1:0", "--tcp", "off", "--udp", "off", "--data", "data"],
  {
    cwd: work,
    stdio: ["ignore", "pipe", "inherit"],
  },
);
const timer = setTimeout(() => {
  serve.kill("SIGKILL");
  fail("serve did not finish within 60 s");
}, 60_000);
const exited = new Promise((resolve) => serve.on("exit", (code, signal) => resolve({ code, signal })));
// The JSON log says where HTTP listens (port 0: the OS picked it).
const port = await new Promise((resolve) => {
  const logs = createInterface({ input: serve.stdout });
  logs.on("line", (text) => {
    try {
      const entry = JSON.parse(text);
      if (entry.msg === "listening" && entry.input === "http") resolve(entry.port);
    } catch {
      // Not a log line: ignore.
    }
  });
  logs.on("close", () => resolve(undefined));
});
if (typeof port !== "number") fail("serve never logged its HTTP port");
const response = await fetch(`http://127.0.0.1:${port}/ingest`, {
  method: "POST",
  headers: { "content-type": "application/x-ndjson" },
  body: `${line}\n`,
});
const answer = await response.json();
if (response.status !== 200 || answer.accepted !== 1)
  fail(`ingest answered ${response.status} ${JSON.stringify(answer)}`);
console.log(`serve: port ${port}, ingest ${JSON.stringify(answer)}`);
serve.kill("SIGTERM");
const { code, signal } = await exited;
clearTimeout(timer);
if (code !== 0) fail(`serve exited ${code ?? signal} on SIGTERM`);
console.log("serve: stopped on SIGTERM, exit 0");

// The event was committed before the answer: the data folder holds it once the server is gone.
const queried = spawnSync(bin, ["query", "--data", "data", "SELECT count(*) AS n FROM events"], {
  cwd: work,
  encoding: "utf8",
});
if (queried.status !== 0 || queried.stdout !== '{"n":1}\n') {
  fail(`query exited ${queried.status}: ${queried.stdout}${queried.stderr}`);
}
console.log(`query --data: ${queried.stdout.trim()}`);

/**
 * @module bench/buffer
 * The disk buffer's two candidate engines side by side, in one run: DuckDB (an append-only table
 * with a sequence number, delivered ranges deleted) and LMDB (one key per event, the sequence
 * number as the key, delivered keys removed). Each appends `--batches` batches of 1,000 events of
 * about 1.5 KB, one durable commit per batch, then reads them back oldest first in 1,000-event
 * batches, deleting each batch once read (one commit each), which is the buffer's whole life.
 * `flock <lock> node --import tsx bench/buffer.ts [--batches N]` (default 40: 40,000 events).
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DuckDBInstance, VARCHAR, BIGINT, DuckDBDataChunk } from "@duckdb/node-api";
import { open } from "lmdb";

const args = process.argv.slice(2);
const at = args.indexOf("--batches");
const BATCHES = at >= 0 ? Number(args[at + 1]) : 40;
const BATCH = 1000;

/** About 1.5 KB of JSON, different per event (so that nothing compresses to nothing). */
function document(n: number): string {
  const doc = {
    "@timestamp": new Date(1_767_225_600_000 + n).toISOString(),
    event: {
      id: `evt-${n}`,
      kind: "event",
      category: ["process"],
      type: ["start"],
      dataset: "tanium.recorder",
    },
    host: { name: `host-${n % 500}`, ip: [`10.0.${n % 250}.${n % 200}`] },
    process: {
      pid: n,
      name: "powershell.exe",
      executable: "C:\\Windows\\System32\\WindowsPowerShell\\v1.0\\powershell.exe",
      command_line: `powershell.exe -NoProfile -Command "${"Get-ChildItem -Recurse ".repeat(42)}${n}"`,
      hash: { sha256: n.toString(16).padStart(64, "0") },
    },
    user: { name: `user${n % 97}`, domain: "CORP" },
  };
  return JSON.stringify(doc);
}

const batches: string[][] = [];
for (let b = 0; b < BATCHES; b++) {
  batches.push(Array.from({ length: BATCH }, (_, i) => document(b * BATCH + i)));
}
const bytes = batches.flat().reduce((sum, s) => sum + Buffer.byteLength(s), 0);

interface Figures {
  readonly append: number;
  readonly drain: number;
}

function rate(events: number, startNs: bigint): number {
  return Math.round(events / (Number(process.hrtime.bigint() - startNs) / 1e9));
}

async function duckdb(dir: string): Promise<Figures> {
  const instance = await DuckDBInstance.create(join(dir, "buffer.duckdb"), { threads: "1" });
  const connection = await instance.connect();
  await connection.run(`CREATE TABLE buffer (seq BIGINT NOT NULL, json VARCHAR NOT NULL)`);
  let seq = 0n;
  let start = process.hrtime.bigint();
  for (const batch of batches) {
    // The appender's flush is one commit (DuckDB syncs its WAL at every commit).
    const appender = await connection.createAppender("buffer");
    const chunk = DuckDBDataChunk.create([BIGINT, VARCHAR], batch.length);
    chunk.setColumns([batch.map(() => seq++), batch]);
    appender.appendDataChunk(chunk);
    appender.flushSync();
    appender.closeSync();
  }
  const append = rate(BATCHES * BATCH, start);
  start = process.hrtime.bigint();
  const select = await connection.prepare(
    `SELECT seq, json FROM buffer WHERE seq >= $1 ORDER BY seq LIMIT ${BATCH}`,
  );
  const remove = await connection.prepare(`DELETE FROM buffer WHERE seq <= $1`);
  let from = 0n;
  let read = 0;
  for (;;) {
    select.bindBigInt(1, from);
    const rows = (await select.runAndReadAll()).getRows();
    if (rows.length === 0) break;
    read += rows.length;
    const last = rows[rows.length - 1]?.[0] as bigint;
    remove.bindBigInt(1, last);
    await remove.run();
    from = last + 1n;
  }
  const drain = rate(read, start);
  connection.closeSync();
  instance.closeSync();
  return { append, drain };
}

async function lmdb(dir: string): Promise<Figures> {
  const db = open<string, number>({ path: join(dir, "buffer.lmdb"), encoding: "string", compression: false });
  let seq = 0;
  let start = process.hrtime.bigint();
  for (const batch of batches) {
    await db.transaction(() => {
      for (const json of batch) void db.put(seq++, json);
    });
    // Committed is not yet synced (lmdb-js's overlappingSync): wait for the sync, as the buffer does.
    await db.flushed;
  }
  const append = rate(BATCHES * BATCH, start);
  start = process.hrtime.bigint();
  let read = 0;
  for (;;) {
    const rows = [...db.getRange({ limit: BATCH })];
    if (rows.length === 0) break;
    read += rows.length;
    await db.transaction(() => {
      for (const row of rows) void db.remove(row.key);
    });
    await db.flushed;
  }
  const drain = rate(read, start);
  await db.close();
  return { append, drain };
}

const results: Record<string, Figures> = {};
for (const [name, run] of [
  ["duckdb", duckdb],
  ["lmdb", lmdb],
] as const) {
  const dir = mkdtempSync(join(tmpdir(), `tanium-ecs-buffer-bench-${name}-`));
  try {
    results[name] = await run(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
const d = results.duckdb as Figures;
const l = results.lmdb as Figures;
console.log(
  `${BATCHES} batches of ${BATCH} events, ${Math.round(bytes / BATCH / BATCHES)} bytes each (${(bytes / 2 ** 20).toFixed(1)} MiB)`,
);
for (const [name, f] of Object.entries(results)) {
  console.log(
    `${name.padEnd(7)} append ${f.append} events/s (durable commits), read+delete ${f.drain} events/s`,
  );
}
console.log(
  `lmdb/duckdb: append ×${(l.append / d.append).toFixed(1)}, read+delete ×${(l.drain / d.drain).toFixed(1)}`,
);

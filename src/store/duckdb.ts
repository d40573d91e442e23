/**
 * @module store/duckdb
 * The embedded default store: one DuckDB file, `<dataDir>/events.duckdb`, no service to run.
 *
 * - `events`: the typed columns of `columns.ts` plus the whole document as JSON in `doc`.
 * - `event_keys`: one 128-bit key per stored `event.id` (`md5_number`), its primary key, so a
 *   redelivered event is stored once. Schema 2 had the primary key on `events."event.id"` itself:
 *   an ART index on random 32-character strings, measured to make inserts and checkpoints slower
 *   as the table grew (inserts + checkpoint of 100,000 events 3.5 s at 0, 8–13 s from 200,000 on),
 *   where the fixed-width key of its own table kept both flat (3.5–6 s).
 * - `dead_letters`: lines that did not normalize, keyed by a hash of their original text, so the
 *   same bad line delivered again (by a retrying sender, on any connection, a flood of one junk
 *   line) is kept once; `count` says how many times it arrived.
 * - `schema_info`: the schema version, so a later version can migrate an existing file
 *   (2 added `dead_letters.count`, 3 moved the key of `events` to `event_keys`).
 *
 * Writes take one of `WRITERS` connections each, one transaction per batch: each document's key
 * and JSON text are appended to a connection-local staging table (the appender is DuckDB's fast
 * path), then moved with `INSERT … SELECT`, which reads the typed columns out of the JSON (a
 * batch holding an `event.id` stored before is run again with `ON CONFLICT DO NOTHING`); `write`
 * resolves only after COMMIT. Reads (query, export) each take a connection of their own, in a
 * READ ONLY transaction.
 *
 * A user's SQL can read and never write. Three locks, each enough for most attacks: the statement
 * is checked on DuckDB's parse (`user-sql.ts`); the instance reaches no file through SQL (external
 * access off, only `exports/` allowed, for the store's own Parquet export) and its configuration is
 * locked once the store has set it, so no statement can turn that back; the READ ONLY transaction.
 * The store's own writes, checkpoints, replay and export never go through the user path.
 */
import { randomUUID } from "node:crypto";
import { createReadStream } from "node:fs";
import { mkdir, readdir, rm } from "node:fs/promises";
import { join, resolve } from "node:path";
import { once } from "node:events";
import { Readable } from "node:stream";
import { availableParallelism } from "node:os";
import {
  DuckDBDataChunk,
  DuckDBInstance,
  DuckDBVarCharType,
  INTEGER,
  LIST,
  TIMESTAMPTZ,
  VARCHAR,
  type DuckDBConnection,
  type DuckDBType,
  type DuckDBValue,
} from "@duckdb/node-api";
import { parseJsonSafely } from "../decoding/json.ts";
import { osFrom, type HostRow } from "../enrich/hosts.ts";
import { EVENT_COLUMNS, quoteIdent, quoteLiteral } from "./columns.ts";
import { jsonSafe } from "./duckdb-values.ts";
import { StoreError } from "./errors.ts";
import { replayDeadLetters, type StoredDeadLetter } from "./replay.ts";
import { duckdbError, prepareUserStatement } from "./user-sql.ts";
import {
  type DeadLetterRow,
  type EventStore,
  type ExportRequest,
  type ExportStream,
  type QueryOptions,
  type QueryResult,
  type ReplayResult,
  type StoreBatch,
  type StoredDoc,
  type WriteResult,
  textKey,
} from "./store.ts";

/** Bumped when the layout changes in a way `migrate` must handle; added columns need no bump. */
export const SCHEMA_VERSION = 3;
export const DATABASE_FILE = "events.duckdb";
export const DEFAULT_MAX_ROWS = 10_000;
/** Time limit of a user's statement, in ms, unless `queryTimeoutMs` or the query says otherwise. */
export const DEFAULT_QUERY_TIMEOUT_MS = 30_000;
/** DuckDB's vector size: one data chunk holds at most this many rows. */
const CHUNK_ROWS = 2048;
const EXPORT_DIR = "exports";
/** Strings this long on average (bytes) may be compressed with ZSTD (see `duckdbStore`). */
const ZSTD_MIN_STRING_LENGTH = 512;
export const DEFAULT_RETENTION_INTERVAL_MS = 60_000;
/** Rows deleted per retention transaction: each holds a writer connection only briefly. */
const RETENTION_CHUNK = 10_000;

export interface DuckDbStoreOptions {
  /** The folder holding `events.duckdb`; created when missing (unless read-only). */
  readonly dataDir: string;
  /** Open for reading only (the CLI's `query` and `export` without a server): never creates nor writes. */
  readonly readOnly?: boolean;
  /** Default row cap of `query` (10,000). */
  readonly maxRows?: number;
  /** Default time limit of `query`, in ms (30 s); 0: none. */
  readonly queryTimeoutMs?: number;
  /** DuckDB's memory limit, e.g. "1GB" (DuckDB's default: 80% of RAM). */
  readonly memoryLimit?: string;
  /**
   * WAL size that triggers a checkpoint (default "256MB"; DuckDB's own is 16MB). Fewer, larger
   * checkpoints cost less in all (measured: about +40% write throughput); the price is a longer
   * WAL replay when the process restarts after a crash.
   */
  readonly checkpointThreshold?: string;
  /**
   * Retention, in ms: events whose `@timestamp` (or, without one, `event.ingested`) is older than
   * now − retainMs, and dead letters received before then, are deleted in the background, in
   * chunks, every `retentionIntervalMs`. Absent: kept forever.
   */
  readonly retainMs?: number;
  /** How often retention runs, in ms (default one minute); the first run is one interval after open. */
  readonly retentionIntervalMs?: number;
}

/** Opens (and creates, unless read-only) the DuckDB store in `dataDir`. */
export async function duckdbStore(options: DuckDbStoreOptions): Promise<DuckDbEventStore> {
  const dataDir = resolve(options.dataDir);
  const file = join(dataDir, DATABASE_FILE);
  const readOnly = options.readOnly === true;
  const exportDir = join(dataDir, EXPORT_DIR);
  if (!readOnly) {
    await mkdir(exportDir, { recursive: true });
    await removeStaleExports(exportDir);
  }
  const config: Record<string, string> = {
    // Offline by design: the json, parquet and icu extensions are built into the binary, and no
    // statement may bring another one in.
    autoinstall_known_extensions: "false",
    autoload_known_extensions: "false",
    allow_community_extensions: "false",
    // One core stays with the Node.js thread, which parses, normalizes and stages every event:
    // measured on 2 cores, DuckDB on both cores starved it (TCP intake 13–15k/s against 16–20k/s).
    threads: String(Math.max(1, availableParallelism() - 1)),
  };
  if (readOnly) config.access_mode = "READ_ONLY";
  // A new file is written in the v1.2.0 format, the first with ZSTD for strings: `doc` (about
  // 1.8 KB of JSON per event) compresses about 4x better with it than with FSST (measured on
  // 1,000,000 generated events: 200 MB against 850 MB). A file created before keeps its format.
  else {
    config.storage_compatibility_version = "v1.2.0";
    // DuckDB considers ZSTD only for strings of 4,096 bytes on average, unless told otherwise:
    // `doc` qualifies at this length; the short typed columns keep their dictionary and FSST. Set
    // at open, not by SET after it: the WAL a crash left is replayed and checkpointed at open.
    config.zstd_min_string_length = String(ZSTD_MIN_STRING_LENGTH);
  }
  if (options.memoryLimit !== undefined) config.memory_limit = options.memoryLimit;
  let instance: DuckDBInstance;
  try {
    instance = await DuckDBInstance.create(file, config);
  } catch (err) {
    throw openError(err, file);
  }
  try {
    const writer = await instance.connect();
    await writer.run("SET GLOBAL TimeZone = 'UTC'");
    if (!readOnly) {
      // Given at open too (above, for the WAL replay), and set here: measured, the option given at
      // open alone left `doc` in FSST.
      await writer.run(`SET GLOBAL zstd_min_string_length = ${ZSTD_MIN_STRING_LENGTH}`);
      await writer.run(`SET checkpoint_threshold = ${quoteLiteral(options.checkpointThreshold ?? "256MB")}`);
    }
    if (!readOnly) await createSchema(writer);
    else await checkSchema(writer, file);
    // SQL reaches no file but the store's own Parquet exports (`COPY … TO exports/…`): not the
    // database, its WAL, nor `/etc/passwd`, even from a SELECT (`read_blob`, `glob`, `FROM 'x.csv'`).
    // The database file itself is DuckDB's storage, not external access. Then the configuration is
    // locked: no SET, RESET or PRAGMA can undo this, nor change checkpoint_threshold or threads.
    await writer.run(`SET allowed_directories = [${quoteLiteral(exportDir + "/")}]`);
    await writer.run("SET enable_external_access = false");
    await writer.run("SET lock_configuration = true");
    const writers = [writer];
    if (!readOnly) {
      await createStaging(writer);
      // A second writer: two batches insert at once (commits still go one by one through the
      // WAL), measured about a third more documents per second than one connection.
      for (let i = 1; i < WRITERS; i++) {
        const more = await instance.connect();
        await createStaging(more);
        writers.push(more);
      }
    }
    return new DuckDbEventStore(instance, writers, {
      file,
      dataDir,
      readOnly,
      maxRows: options.maxRows ?? DEFAULT_MAX_ROWS,
      queryTimeoutMs: options.queryTimeoutMs ?? DEFAULT_QUERY_TIMEOUT_MS,
      retainMs: readOnly ? undefined : options.retainMs,
      retentionIntervalMs: options.retentionIntervalMs ?? DEFAULT_RETENTION_INTERVAL_MS,
    });
  } catch (err) {
    instance.closeSync();
    throw err;
  }
}

/** Parquet exports left by a process that died while sending one (each is removed once sent). */
async function removeStaleExports(dir: string): Promise<void> {
  for (const name of await readdir(dir)) {
    if (/^export-[0-9a-f-]+\.parquet$/.test(name)) await rm(join(dir, name), { force: true });
  }
}

function openError(err: unknown, file: string): Error {
  const message = err instanceof Error ? err.message : String(err);
  if (/Could not set lock|Conflicting lock/i.test(message)) {
    const pid = /\(PID (\d+)\)/.exec(message)?.[1];
    return new StoreError(
      "ERR_STORE_LOCKED",
      `${file} is in use by another process${pid === undefined ? "" : ` (PID ${pid})`}, most likely a ` +
        "running `tanium-ecs serve`: ask it (--server URL) or stop it first.",
      { cause: err },
    );
  }
  if (/does not exist/i.test(message)) {
    return new StoreError("ERR_STORE_MISSING", `No database at ${file}.`, { cause: err });
  }
  return new StoreError("ERR_SQL", `Cannot open ${file}: ${message}`, { cause: err });
}

/**
 * Each call into DuckDB holds one thread of libuv's pool (4 threads unless UV_THREADPOOL_SIZE says
 * otherwise) until it returns, and the writers need those threads too: measured, an `/ingest` of
 * 10 events waited 7.6 s behind four long queries, 0.3 s behind two. So at most this many reads
 * (a user statement, an export's COPY or its next vector) are in DuckDB at a time; more wait.
 */
const READ_SLOTS = 2;

/** A counting semaphore; a waiter whose signal aborts leaves the queue with the signal's reason. */
class Slots {
  private free: number;
  private readonly waiting: (() => void)[] = [];
  constructor(count: number) {
    this.free = count;
  }

  acquire(signal?: AbortSignal): Promise<() => void> {
    let released = false;
    const release = (): void => {
      if (released) return;
      released = true;
      const next = this.waiting.shift();
      if (next !== undefined) next();
      else this.free++;
    };
    if (this.free > 0) {
      this.free--;
      return Promise.resolve(release);
    }
    return new Promise((resolve, reject) => {
      const grant = (): void => {
        signal?.removeEventListener("abort", onAbort);
        resolve(release);
      };
      const onAbort = (): void => {
        const at = this.waiting.indexOf(grant);
        if (at >= 0) this.waiting.splice(at, 1);
        reject(signal?.reason);
      };
      if (signal?.aborted === true) return onAbort();
      signal?.addEventListener("abort", onAbort, { once: true });
      this.waiting.push(grant);
    });
  }
}

/** Writer connections: batches insert in parallel on each (see `duckdbStore`). */
const WRITERS = 2;

const EVENTS_COLUMNS_SQL = EVENT_COLUMNS.map((c) => quoteIdent(c.name)).join(", ") + ", doc";

/** The key of a staged or stored `event.id` in `event_keys`. */
const KEY_SQL = "md5_number(id)";

/**
 * Claims the batch's keys: fails whole (duplicate key) when one is stored, which the fast path
 * takes as the sign of a redelivery (see `commitBatch`).
 */
const INSERT_KEYS_SQL = `INSERT INTO event_keys SELECT ${KEY_SQL} FROM staging_events`;

/** The redelivery path: staged documents whose key is stored already are dropped first. */
const DROP_STORED_SQL = `DELETE FROM staging_events WHERE ${KEY_SQL} IN (SELECT k FROM event_keys) RETURNING id`;

/**
 * One row per text (the staging rows of a batch may repeat one: two submissions, or bodies, sent
 * the same line); a text stored before keeps its first reason and receive time and adds to its
 * count.
 */
const INSERT_DEAD_LETTERS_SQL = `INSERT INTO dead_letters (id, code, message, original, input, received_at, count)
  SELECT id, first(code), first(message), first(original), first(input),
    TRY_CAST(first(received_at) AS TIMESTAMPTZ), sum(count)
  FROM staging_dead_letters GROUP BY id
  ON CONFLICT (id) DO UPDATE SET count = dead_letters.count + excluded.count`;

/**
 * The json_transform structure of the typed columns: nested like the ECS document, each value as
 * its column's type, but a keyword list as JSON (made a list below, a lone value included).
 */
function columnStruct(): string {
  type Tree = Map<string, Tree | string>;
  const root: Tree = new Map();
  for (const c of EVENT_COLUMNS) {
    let tree = root;
    c.path.forEach((key, i) => {
      if (i === c.path.length - 1) {
        tree.set(key, c.type === "VARCHAR[]" ? "JSON" : c.type);
        return;
      }
      let child = tree.get(key);
      if (child === undefined || typeof child === "string") {
        child = new Map();
        tree.set(key, child);
      }
      tree = child;
    });
  }
  const emit = (tree: Tree): string =>
    `{${[...tree].map(([k, v]) => `${JSON.stringify(k)}:${typeof v === "string" ? JSON.stringify(v) : emit(v)}`).join(",")}}`;
  return emit(root);
}

/**
 * A staged row is the document's JSON text and its key. The move to `events` reads every typed
 * column out of `doc` in SQL with one `json_transform` per row: the document is parsed once, into
 * a struct shaped like the columns (`columnStruct`). Measured on 200k recorder documents, 2
 * writers: 27k documents/s against 20k/s when JS read the ~45 values into a second JSON array per
 * row, and half the JS time per batch (one JSON.stringify per document, not two).
 * json_transform (not its `_strict` twin) reads each value as its column's type and gives NULL for
 * a value of the wrong kind, never a failed batch; `doc` keeps it. Keys match exactly (it is
 * case-sensitive).
 */
function insertEventsSql(): string {
  const values = EVENT_COLUMNS.map((c) => {
    // The staged key (`StoredDoc.id`): the document's own `event.id`, or a hash when it has none.
    if (c.name === "event.id") return "id";
    const ref = `t.${c.path.map(quoteIdent).join(".")}`;
    // ECS lets a keyword array hold one value: "a" is ["a"]; an object is no list.
    if (c.type === "VARCHAR[]") {
      return `CASE WHEN ${ref} IS NULL OR json_type(${ref}) IN ('OBJECT', 'NULL') THEN NULL
        WHEN json_type(${ref}) = 'ARRAY' THEN TRY_CAST(${ref} AS VARCHAR[])
        ELSE [json_extract_string(${ref}, '$')] END`;
    }
    return ref;
  });
  return `INSERT INTO events (${EVENTS_COLUMNS_SQL}) SELECT ${values.join(", ")}, doc FROM (
    SELECT id, doc, json_transform(doc, ${quoteLiteral(columnStruct())}) AS t FROM staging_events)`;
}

const INSERT_EVENTS_SQL = insertEventsSql();

async function createSchema(connection: DuckDBConnection): Promise<void> {
  await connection.run(`CREATE TABLE IF NOT EXISTS schema_info (version INTEGER NOT NULL)`);
  const found = await connection.runAndReadAll(`SELECT max(version) FROM schema_info`);
  const version = found.getRows()[0]?.[0];
  if (typeof version === "number" && version > SCHEMA_VERSION) {
    throw new StoreError(
      "ERR_SQL",
      `The database was written by a newer tanium-ecs (schema ${version}; this one knows ${SCHEMA_VERSION}).`,
    );
  }
  await connection.run(`CREATE TABLE IF NOT EXISTS events (${eventsTableSql(true)})`);
  await connection.run(`CREATE TABLE IF NOT EXISTS event_keys (k UHUGEINT PRIMARY KEY)`);
  await connection.run(
    `CREATE TABLE IF NOT EXISTS dead_letters (
       id VARCHAR PRIMARY KEY, code VARCHAR NOT NULL, message VARCHAR, original VARCHAR NOT NULL,
       input VARCHAR, received_at TIMESTAMPTZ, count BIGINT NOT NULL DEFAULT 1)`,
  );
  // The enrichment stage's memory of hosts (a table added later needs no version bump).
  await connection.run(
    `CREATE TABLE IF NOT EXISTS hosts (key VARCHAR PRIMARY KEY, os JSON NOT NULL, seen_at VARCHAR)`,
  );
  if (version === 1) {
    // Schema 1 had no count: each of its dead letters arrived at least once.
    await connection.run(`ALTER TABLE dead_letters ADD COLUMN IF NOT EXISTS count BIGINT DEFAULT 1`);
  }
  // A column added to columns.ts since the file was created: added empty (its values are in `doc`).
  const existing = await connection.runAndReadAll(
    `SELECT column_name FROM duckdb_columns() WHERE table_name = 'events' AND schema_name = 'main'`,
  );
  const have = new Set(existing.getRows().map((r) => String(r[0])));
  for (const c of EVENT_COLUMNS) {
    if (!have.has(c.name))
      await connection.run(`ALTER TABLE events ADD COLUMN ${quoteIdent(c.name)} ${c.type}`);
  }
  if (version === 1 || version === 2) await moveEventKeys(connection);
  if (version === null || version === undefined) {
    await connection.run(`INSERT INTO schema_info VALUES (${SCHEMA_VERSION})`);
  } else if (typeof version === "number" && version < SCHEMA_VERSION) {
    await connection.run(`UPDATE schema_info SET version = ${SCHEMA_VERSION}`);
  }
}

/**
 * The columns of `events`: no key of its own (it is in `event_keys`). In a new file `doc` is
 * ZSTD by order: left to choose, DuckDB took FSST for it in 3 of 6 runs of the same 3,000 documents
 * under load (about 4 × the disk); a file of an older storage format cannot hold ZSTD strings.
 */
function eventsTableSql(zstdDoc: boolean): string {
  const doc = zstdDoc ? "doc JSON NOT NULL USING COMPRESSION zstd" : "doc JSON NOT NULL";
  return EVENT_COLUMNS.map((c) => `${quoteIdent(c.name)} ${c.type}`).join(", ") + `, ${doc}`;
}

/**
 * Schema 2 → 3: `events` had its primary key on `"event.id"`, and DuckDB cannot drop one, so the
 * table is copied into one without it (one transaction: a crash leaves schema 2 as it was), and
 * each stored id's key goes to `event_keys`.
 */
async function moveEventKeys(connection: DuckDBConnection): Promise<void> {
  const keyed = await connection.runAndReadAll(
    `SELECT count(*) FROM duckdb_constraints()
     WHERE schema_name = 'main' AND table_name = 'events' AND constraint_type = 'PRIMARY KEY'`,
  );
  if (Number(keyed.getRows()[0]?.[0]) === 0) return;
  await connection.run("BEGIN TRANSACTION");
  try {
    await connection.run(`CREATE TABLE events_v3 (${eventsTableSql(false)})`);
    await connection.run(`INSERT INTO events_v3 SELECT ${EVENTS_COLUMNS_SQL} FROM events`);
    await connection.run(`DROP TABLE events`);
    await connection.run(`ALTER TABLE events_v3 RENAME TO events`);
    await connection.run(`INSERT INTO event_keys SELECT md5_number("event.id") FROM events`);
    await connection.run(`UPDATE schema_info SET version = ${SCHEMA_VERSION}`);
    await connection.run("COMMIT");
  } catch (err) {
    await connection.run("ROLLBACK").catch(() => {});
    throw err;
  }
}

async function checkSchema(connection: DuckDBConnection, file: string): Promise<void> {
  const found = await connection.runAndReadAll(
    `SELECT count(*) FROM duckdb_tables() WHERE schema_name = 'main' AND table_name IN ('events', 'dead_letters')`,
  );
  if (Number(found.getRows()[0]?.[0]) !== 2) {
    throw new StoreError("ERR_STORE_MISSING", `${file} is not a tanium-ecs database (no events table).`);
  }
}

/** Connection-local staging tables: their rows never reach the file, only what INSERT moves. */
async function createStaging(connection: DuckDBConnection): Promise<void> {
  // `doc` as JSON: a VARCHAR would be parsed again to validate it on its cast into `events.doc`.
  await connection.run(`CREATE TEMP TABLE staging_events (id VARCHAR, doc JSON)`);
  await connection.run(
    `CREATE TEMP TABLE staging_dead_letters (id VARCHAR, code VARCHAR, message VARCHAR,
       original VARCHAR, input VARCHAR, received_at VARCHAR, count INTEGER)`,
  );
}

/** The staging columns' types: `id`, `doc`. */
const EVENT_TYPES: readonly DuckDBType[] = [VARCHAR, DuckDBVarCharType.create("JSON")];
const DEAD_LETTER_TYPES: readonly DuckDBType[] = [
  VARCHAR,
  VARCHAR,
  VARCHAR,
  VARCHAR,
  VARCHAR,
  VARCHAR,
  INTEGER,
];

/**
 * A batch of documents as the staging table's columns (`id`, `doc`), row `i` of each column
 * being one document; a second copy of an `event.id` within the batch is left out (the first one
 * is kept), so the batch alone never breaks the primary key.
 */
interface StagedDocs {
  readonly rows: number;
  readonly columns: readonly DuckDBValue[][];
}

function stageDocs(docs: readonly StoredDoc[]): StagedDocs {
  const ids: string[] = [];
  const json: string[] = [];
  const seen = new Set<string>();
  for (const d of docs) {
    if (seen.has(d.id)) continue;
    seen.add(d.id);
    ids.push(d.id);
    json.push(d.json);
  }
  return { rows: ids.length, columns: [ids, json] };
}

/** Retries of a batch that lost a write-write conflict on a dead letter's count. */
const MAX_CONFLICT_RETRIES = 8;

/** DuckDB's refusal of a second concurrent update of one row. */
function isWriteConflict(err: unknown): boolean {
  return err instanceof Error && /conflict/i.test(err.message) && !isDuplicateKey(err);
}

/** A DuckDB error raised by a key already stored: the batch holds a redelivered event. */
function isDuplicateKey(err: unknown): boolean {
  return err instanceof Error && /Duplicate key|violates primary key/i.test(err.message);
}

/** Appends `rows` rows, given column by column, to a staging table. */
async function append(
  writer: DuckDBConnection,
  table: string,
  types: readonly DuckDBType[],
  rows: number,
  columns: readonly (readonly DuckDBValue[])[],
): Promise<void> {
  const appender = await writer.createAppender(table, "main", "temp");
  try {
    for (let from = 0; from < rows; from += CHUNK_ROWS) {
      // Column-wise: one native call per column per chunk, not one per value.
      const chunk = DuckDBDataChunk.create(types, Math.min(CHUNK_ROWS, rows - from));
      chunk.setColumns(columns.map((column) => column.slice(from, from + CHUNK_ROWS)));
      appender.appendDataChunk(chunk);
    }
    appender.flushSync();
  } finally {
    appender.closeSync();
  }
}

interface StoreInfo {
  readonly file: string;
  readonly dataDir: string;
  readonly readOnly: boolean;
  readonly maxRows: number;
  readonly queryTimeoutMs: number;
  readonly retainMs: number | undefined;
  readonly retentionIntervalMs: number;
}

/** What one retention pass deleted. */
export interface RetentionResult {
  readonly events: number;
  readonly deadLetters: number;
}

/**
 * The next chunk of expired events, staged on the retention's writer: their row ids and keys.
 * An event without `@timestamp` is judged by `event.ingested`; one with neither is kept.
 */
const STAGE_EXPIRED_SQL = `INSERT INTO staging_expired SELECT rowid, md5_number("event.id") FROM events
  WHERE coalesce("@timestamp", "event.ingested") < $1::TIMESTAMPTZ LIMIT ${RETENTION_CHUNK}`;

/** What stops a reader early: a time limit, a client that went away. */
interface ReaderLimits {
  readonly timeoutMs?: number;
  readonly signal?: AbortSignal | undefined;
}

export class DuckDbEventStore implements EventStore {
  readonly name: string;
  readonly dataDir: string;
  private readonly instance: DuckDBInstance;
  private readonly writers: readonly DuckDBConnection[];
  private readonly info: StoreInfo;
  /** Writer connections not in a transaction now, and tasks waiting for one. */
  private readonly idle: DuckDBConnection[];
  private readonly waiting: ((connection: DuckDBConnection) => void)[] = [];
  /** Write tasks started and not finished: `close` waits for them. */
  private readonly running = new Set<Promise<unknown>>();
  /** Held by a batch with dead letters while it commits (see `write`). */
  private readonly deadLetterSlot = new Slots(1);
  private closed = false;
  /** Set once `close` began: a retention pass stops at its next chunk. */
  private closing = false;
  private retentionTimer: NodeJS.Timeout | undefined;
  /** The retention pass running now, if any (one at a time). */
  private retention: Promise<RetentionResult> | undefined;
  private readonly readers = new Set<DuckDBConnection>();
  private readonly readSlots = new Slots(READ_SLOTS);
  /** Export bodies not yet closed: `close` ends them. */
  private readonly exportStreams = new Set<Readable>();

  constructor(instance: DuckDBInstance, writers: readonly DuckDBConnection[], info: StoreInfo) {
    this.instance = instance;
    this.writers = writers;
    this.idle = [...writers];
    this.info = info;
    this.name = info.file;
    this.dataDir = info.dataDir;
    if (info.retainMs !== undefined && info.retainMs > 0) {
      const timer = setInterval(() => {
        this.retain().catch(() => {
          // A pass that failed (a write conflict with a redelivery of an expiring event) is
          // simply run again at the next interval.
        });
      }, info.retentionIntervalMs);
      timer.unref();
      this.retentionTimer = timer;
    }
  }

  /**
   * One retention pass (the background timer runs it every `retentionIntervalMs`): deletes, in
   * transactions of at most 10,000 rows each holding one writer connection (the other keeps
   * committing batches meanwhile), the events older than now − `retainMs` and their keys, then
   * the dead letters received before then. A pass already running is joined, not doubled.
   */
  retain(now: number = Date.now()): Promise<RetentionResult> {
    const retainMs = this.info.retainMs;
    if (retainMs === undefined || retainMs <= 0) return Promise.resolve({ events: 0, deadLetters: 0 });
    if (this.retention !== undefined) return this.retention;
    const cutoff = new Date(now - retainMs).toISOString();
    const pass = (async (): Promise<RetentionResult> => {
      let events = 0;
      for (;;) {
        if (this.closing) return { events, deadLetters: 0 };
        const deleted = await this.exclusive((writer) => this.deleteExpiredEvents(writer, cutoff));
        events += deleted;
        if (deleted < RETENTION_CHUNK) break;
      }
      const deadLetters = this.closing
        ? 0
        : await this.exclusive((writer) =>
            this.transaction(writer, async () => {
              const statement = await writer.prepare(
                `DELETE FROM dead_letters WHERE received_at < $1::TIMESTAMPTZ`,
              );
              statement.bindValue(1, cutoff, VARCHAR);
              return (await statement.run()).rowsChanged;
            }),
          );
      return { events, deadLetters };
    })();
    this.retention = pass;
    const clear = (): void => {
      if (this.retention === pass) this.retention = undefined;
    };
    pass.then(clear, clear);
    return pass;
  }

  private async deleteExpiredEvents(writer: DuckDBConnection, cutoff: string): Promise<number> {
    return this.transaction(writer, async () => {
      await writer.run(`CREATE TEMP TABLE IF NOT EXISTS staging_expired (r BIGINT, k UHUGEINT)`);
      const stage = await writer.prepare(STAGE_EXPIRED_SQL);
      stage.bindValue(1, cutoff, VARCHAR);
      const staged = (await stage.run()).rowsChanged;
      if (staged > 0) {
        await writer.run(
          `DELETE FROM events WHERE rowid IN (SELECT r FROM staging_expired);
           DELETE FROM event_keys WHERE k IN (SELECT k FROM staging_expired)`,
        );
      }
      await writer.run("DELETE FROM staging_expired");
      return staged;
    });
  }

  write(batch: StoreBatch): Promise<WriteResult> {
    // Staged now, before waiting for the writer: the JS work of one batch overlaps the commit of
    // the one before it.
    const docs = stageDocs(batch.docs);
    const letters = batch.deadLetters;
    return this.exclusive(async (writer) => {
      let deadLetters = 0;
      for (const row of letters) deadLetters += row.count ?? 1;
      // Batches with dead letters commit one at a time: a flood of one junk line puts the same
      // row's count in every batch, and two writers updating it at once can lose to each other on
      // every retry (the body is then answered 503, and the sender's resend counts it again).
      const release = letters.length > 0 ? await this.deadLetterSlot.acquire() : undefined;
      let redelivered = false;
      try {
        for (let attempt = 1; ; attempt++) {
          try {
            const { inserted, duplicateIds } = await this.commitBatch(writer, docs, letters, redelivered);
            const duplicates = batch.docs.length - inserted;
            return duplicateIds.length === 0
              ? { inserted, duplicates, deadLetters }
              : { inserted, duplicates, deadLetters, duplicateIds };
          } catch (err) {
            // Rare (a sender resent what was stored, or the other writer committed the same id
            // first): the whole batch again, skipping what is stored.
            // Again after a redelivered run: the other writer may have committed one of the batch's
            // ids after this transaction's snapshot was taken.
            if (isDuplicateKey(err) && (!redelivered || attempt < MAX_CONFLICT_RETRIES)) {
              redelivered = true;
              continue;
            }
            // A dead letter's row changed by another transaction (replay) meanwhile: DuckDB refuses
            // the update (optimistic concurrency); the batch rolled back, so run it again.
            if (isWriteConflict(err) && attempt < MAX_CONFLICT_RETRIES) continue;
            throw err;
          }
        }
      } finally {
        release?.();
      }
    });
  }

  /**
   * One batch in one transaction, in as few statements as possible (each `run` is a round trip
   * to DuckDB's thread). A plain INSERT costs about half of `ON CONFLICT DO NOTHING` (measured),
   * and the primary key of `event_keys` still refuses an `event.id` stored before: the batch then
   * fails whole and `write` runs it again with `redelivered`, which first drops the staged
   * documents already stored and counts what was new.
   */
  private async commitBatch(
    writer: DuckDBConnection,
    docs: StagedDocs,
    letters: readonly DeadLetterRow[],
    redelivered: boolean,
  ): Promise<{ inserted: number; duplicateIds: string[] }> {
    return this.transaction(writer, async () => {
      let inserted = docs.rows;
      // The ids found stored before: each sink settlement then says which events were already there.
      const duplicateIds: string[] = [];
      const statements: string[] = [];
      if (docs.rows > 0) {
        await append(writer, "staging_events", EVENT_TYPES, docs.rows, docs.columns);
        if (redelivered) {
          const dropped = await writer.runAndReadAll(DROP_STORED_SQL);
          for (const [id] of dropped.getRows()) duplicateIds.push(String(id));
          inserted -= duplicateIds.length;
        }
        statements.push(INSERT_KEYS_SQL, INSERT_EVENTS_SQL, "DELETE FROM staging_events");
      }
      if (letters.length > 0) {
        await append(writer, "staging_dead_letters", DEAD_LETTER_TYPES, letters.length, [
          // The same original text is the same dead letter, whoever resent it.
          letters.map((r) => textKey(r.original)),
          letters.map((r) => r.code),
          letters.map((r) => r.message),
          letters.map((r) => r.original),
          letters.map((r) => r.input),
          letters.map((r) => r.receivedAt),
          letters.map((r) => r.count ?? 1),
        ]);
        statements.push(INSERT_DEAD_LETTERS_SQL, "DELETE FROM staging_dead_letters");
      }
      if (statements.length > 0) await writer.run(statements.join(";\n"));
      return { inserted, duplicateIds };
    });
  }

  /** Runs `task` on a writer connection of its own, as soon as one is free. */
  private exclusive<T>(task: (writer: DuckDBConnection) => Promise<T>): Promise<T> {
    if (this.closed) return Promise.reject(new StoreError("ERR_STORE_CLOSED", `${this.name} is closed.`));
    if (this.info.readOnly) {
      return Promise.reject(new StoreError("ERR_STORE_READ_ONLY", `${this.name} is open read-only.`));
    }
    const run = this.acquire().then(async (writer) => {
      try {
        return await task(writer);
      } finally {
        this.release(writer);
      }
    });
    const settled = run.catch(() => {});
    this.running.add(settled);
    void settled.then(() => this.running.delete(settled));
    return run;
  }

  private acquire(): Promise<DuckDBConnection> {
    const free = this.idle.pop();
    if (free !== undefined) return Promise.resolve(free);
    return new Promise((resolve) => this.waiting.push(resolve));
  }

  private release(writer: DuckDBConnection): void {
    const next = this.waiting.shift();
    if (next !== undefined) next(writer);
    else this.idle.push(writer);
  }

  /** BEGIN … COMMIT around `task`; on any failure ROLLBACK (staging included) and reject. */
  private async transaction<T>(writer: DuckDBConnection, task: () => Promise<T>): Promise<T> {
    await writer.run("BEGIN TRANSACTION");
    try {
      const result = await task();
      await writer.run("COMMIT");
      return result;
    } catch (err) {
      await writer.run("ROLLBACK").catch(() => {});
      throw err;
    }
  }

  async loadHosts(): Promise<HostRow[]> {
    return this.withReader({}, async (connection) => {
      const table = await connection.runAndReadAll(
        `SELECT count(*) FROM duckdb_tables() WHERE schema_name = 'main' AND table_name = 'hosts'`,
      );
      // A file written before the host table existed, opened read-only: nothing remembered.
      if (Number(table.getRows()[0]?.[0]) === 0) return [];
      const result = await connection.runAndReadAll(`SELECT key, os, seen_at FROM hosts`);
      const rows: HostRow[] = [];
      for (const [key, os, seenAt] of result.getRows()) {
        const parsed = parseJsonSafely(String(os));
        const known = parsed.ok ? osFrom(parsed.value) : undefined;
        if (known !== undefined) rows.push({ key: String(key), os: known, seenAt: String(seenAt ?? "") });
      }
      return rows;
    });
  }

  async saveHosts(rows: readonly HostRow[]): Promise<void> {
    if (rows.length === 0) return;
    await this.exclusive((writer) =>
      this.transaction(writer, async () => {
        const statement = await writer.prepare(
          `INSERT INTO hosts SELECT * FROM (SELECT unnest($1) AS key, unnest($2)::JSON AS os, unnest($3) AS seen_at)
           ON CONFLICT (key) DO UPDATE SET os = excluded.os, seen_at = excluded.seen_at`,
        );
        statement.bindList(
          1,
          rows.map((r) => r.key),
          LIST(VARCHAR),
        );
        statement.bindList(
          2,
          rows.map((r) => JSON.stringify(r.os)),
          LIST(VARCHAR),
        );
        statement.bindList(
          3,
          rows.map((r) => r.seenAt),
          LIST(VARCHAR),
        );
        await statement.run();
      }),
    );
  }

  private async deleteDeadLetters(writer: DuckDBConnection, ids: readonly string[]): Promise<void> {
    const statement = await writer.prepare(`DELETE FROM dead_letters WHERE list_contains($1, id)`);
    statement.bindList(1, ids, LIST(VARCHAR));
    await statement.run();
  }

  async query(sql: string, options: QueryOptions = {}): Promise<QueryResult> {
    const maxRows = options.maxRows ?? this.info.maxRows;
    const limits = { timeoutMs: options.timeoutMs ?? this.info.queryTimeoutMs, signal: options.signal };
    return this.withReader(limits, async (connection, stopped) => {
      const statement = await prepareUserStatement(connection, sql);
      let result;
      try {
        result = await statement.stream();
      } catch (err) {
        throw sqlError(err);
      }
      const columns = result.deduplicatedColumnNames();
      const columnTypes = result.columnTypes();
      const types = columnTypes.map((t) => t.toString());
      const rows: unknown[][] = [];
      let truncated = false;
      try {
        for (;;) {
          // An interrupt that came between two chunks would otherwise be missed.
          stopped();
          const chunk = await result.fetchChunk();
          if (chunk === null || chunk.rowCount === 0) break;
          for (const values of chunk.getRows()) {
            if (rows.length >= maxRows) {
              truncated = true;
              break;
            }
            // The result's column types, not the chunk's: only they carry the JSON alias.
            rows.push(values.map((value, i) => jsonSafe(value, columnTypes[i] ?? VARCHAR, jsonSafe)));
          }
          if (truncated) break;
        }
      } catch (err) {
        throw sqlError(err);
      }
      return { columns, types, rows, truncated };
    });
  }

  /** A fresh connection in a READ ONLY transaction: what it runs cannot write, whatever it is. */
  private async openReader(): Promise<DuckDBConnection> {
    if (this.closed) throw new StoreError("ERR_STORE_CLOSED", `${this.name} is closed.`);
    const connection = await this.instance.connect();
    this.readers.add(connection);
    try {
      await connection.run(this.info.readOnly ? "BEGIN TRANSACTION" : "BEGIN TRANSACTION READ ONLY");
    } catch (err) {
      this.readers.delete(connection);
      connection.closeSync();
      throw err;
    }
    return connection;
  }

  private async closeReader(connection: DuckDBConnection): Promise<void> {
    if (!this.readers.delete(connection)) return;
    // After `close` the instance is gone: nothing to roll back.
    if (!this.closed) await connection.run("ROLLBACK").catch(() => {});
    connection.closeSync();
  }

  /**
   * Runs `task` on a reader; past `timeoutMs`, or once `signal` aborts, the connection is
   * interrupted (DuckDB stops the statement between vectors) and the task rejects with
   * ERR_QUERY_TIMEOUT or ERR_QUERY_CANCELLED. `stopped()` throws that error once it happened.
   */
  private async withReader<T>(
    limits: ReaderLimits,
    task: (connection: DuckDBConnection, stopped: () => void) => Promise<T>,
  ): Promise<T> {
    // Aborted on the time limit or the client's hang-up, whether waiting for a slot or running.
    const stopping = new AbortController();
    let connection: DuckDBConnection | undefined;
    const stop = (why: StoreError): void => {
      if (stopping.signal.aborted) return;
      stopping.abort(why);
      connection?.interrupt();
    };
    const timeoutMs = limits.timeoutMs ?? 0;
    const timer =
      timeoutMs > 0
        ? setTimeout(
            () =>
              stop(
                new StoreError(
                  "ERR_QUERY_TIMEOUT",
                  `The statement ran longer than ${timeoutMs / 1000} s and was cancelled.`,
                ),
              ),
            timeoutMs,
          )
        : undefined;
    const onAbort = (): void =>
      stop(new StoreError("ERR_QUERY_CANCELLED", "The client went away: the statement was cancelled."));
    if (limits.signal?.aborted === true) onAbort();
    limits.signal?.addEventListener("abort", onAbort, { once: true });
    const stopped = (): void => {
      if (stopping.signal.aborted) throw stopping.signal.reason;
    };
    let release: (() => void) | undefined;
    try {
      release = await this.readSlots.acquire(stopping.signal);
      stopped();
      connection = await this.openReader();
      stopped();
      return await task(connection, stopped);
    } catch (err) {
      if (stopping.signal.aborted) throw stopping.signal.reason;
      throw err;
    } finally {
      clearTimeout(timer);
      limits.signal?.removeEventListener("abort", onAbort);
      if (connection !== undefined) await this.closeReader(connection);
      release?.();
    }
  }

  replay(): Promise<ReplayResult> {
    if (this.info.readOnly) {
      return Promise.reject(new StoreError("ERR_STORE_READ_ONLY", `${this.name} is open read-only.`));
    }
    return replayDeadLetters({
      readAfter: (afterId, limit) => this.exclusive((writer) => this.readDeadLetters(writer, afterId, limit)),
      commit: (docs, resolvedIds, failing) =>
        this.exclusive(async (writer) => {
          return this.transaction(writer, async () => {
            const staged = stageDocs(docs);
            await append(writer, "staging_events", EVENT_TYPES, staged.rows, staged.columns);
            const inserted = staged.rows - (await writer.run(DROP_STORED_SQL)).rowsChanged;
            await writer.run(`${INSERT_KEYS_SQL};\n${INSERT_EVENTS_SQL};\nDELETE FROM staging_events`);
            if (resolvedIds.length > 0) await this.deleteDeadLetters(writer, resolvedIds);
            // A line still failing keeps its place, with the current normalizer's reason.
            if (failing.length > 0) {
              const update = await writer.prepare(
                `UPDATE dead_letters SET code = $1, message = $2 WHERE id = $3`,
              );
              for (const f of failing) {
                update.bind([f.code, f.message, f.id]);
                await update.run();
              }
            }
            return inserted;
          });
        }),
    });
  }

  private async readDeadLetters(
    writer: DuckDBConnection,
    afterId: string,
    limit: number,
  ): Promise<StoredDeadLetter[]> {
    const statement = await writer.prepare(
      `SELECT id, code, message, original, input, received_at FROM dead_letters WHERE id > $1 ORDER BY id LIMIT $2`,
    );
    statement.bind([afterId, limit]);
    const reader = await statement.runAndReadAll();
    return reader.convertRows(jsonSafe).map((r) => ({
      id: String(r[0]),
      code: String(r[1]),
      message: String(r[2] ?? ""),
      original: String(r[3]),
      input: String(r[4] ?? ""),
      receivedAt: typeof r[5] === "string" ? r[5] : new Date().toISOString(),
    }));
  }

  /**
   * The events, oldest first, as a byte stream. NDJSON is read a page of 2,048 documents at a
   * time, only as fast as the stream is read (`read()` fetches the next page once the consumer
   * wants more), each page the next 2,048 after the last key sent (`"@timestamp"`, `"event.id"`:
   * `event_keys` makes it unique). One `ORDER BY` over the whole table would have DuckDB hold
   * every document of it in its sort (measured: three clients that stopped reading a 283 MB
   * table, +1 GB of memory); a page is a top-2,048 that holds 2,048. The pages and the count are
   * read in one READ ONLY transaction, so they see one snapshot. Parquet cannot be streamed by
   * DuckDB (its writer needs a file), so it is written by `COPY` to a temporary file in
   * `exports/`, removed once the stream closes.
   */
  async exportEvents(request: ExportRequest): Promise<ExportStream> {
    const since = request.since === undefined ? undefined : `"@timestamp" >= ${sinceLiteral(request.since)}`;
    if (request.format === "parquet") {
      const where = since === undefined ? "" : `WHERE ${since}`;
      return this.exportParquet(where, `ORDER BY "@timestamp", "event.id"`, request.signal);
    }
    const release = await this.readSlots.acquire(request.signal).catch((err: unknown) => {
      throw new StoreError("ERR_QUERY_CANCELLED", "The client went away: the export was cancelled.", {
        cause: err,
      });
    });
    let connection: DuckDBConnection;
    let rows: number;
    let pages: ExportPages;
    try {
      connection = await this.openReader();
      try {
        const counted = await connection.runAndReadAll(
          `SELECT count(*) FROM events ${since === undefined ? "" : `WHERE ${since}`}`,
        );
        rows = Number(counted.getRows()[0]?.[0] ?? 0);
        pages = await exportPages(connection, since);
      } catch (err) {
        await this.closeReader(connection);
        throw sqlError(err);
      }
    } finally {
      release();
    }
    let pending: Promise<unknown> = Promise.resolve();
    let destroyed = false;
    const next = async (): Promise<void> => {
      const free = await this.readSlots.acquire();
      try {
        if (destroyed) return;
        const docs = await pages.next();
        // Each stored `doc` text, one per line: byte for byte what `write` stored.
        body.push(docs === undefined ? null : docs.map((d) => `${d}\n`).join(""));
      } finally {
        free();
      }
    };
    const body = new Readable({
      read() {
        pending = next().catch((err: unknown) => body.destroy(sqlError(err)));
      },
      destroy: (err, callback) => {
        // A client gone mid-export: stop DuckDB, then free the connection and its snapshot.
        destroyed = true;
        connection.interrupt();
        void pending
          .catch(() => {})
          .then(() => this.closeReader(connection))
          .then(
            () => callback(err),
            () => callback(err),
          );
      },
    });
    this.exportStreams.add(body);
    body.once("close", () => this.exportStreams.delete(body));
    if (request.signal?.aborted === true) body.destroy();
    return { format: "ndjson", contentType: "application/x-ndjson", rows, body };
  }

  private async exportParquet(where: string, order: string, signal?: AbortSignal): Promise<ExportStream> {
    const dir = join(this.dataDir, EXPORT_DIR);
    if (!this.info.readOnly) await mkdir(dir, { recursive: true });
    const path = join(dir, `export-${randomUUID()}.parquet`);
    const dispose = (): Promise<void> => rm(path, { force: true });
    let rows: number;
    try {
      rows = await this.withReader({ signal }, async (connection) => {
        const copied = await connection.run(
          `COPY (SELECT ${EVENTS_COLUMNS_SQL} FROM events ${where} ${order})
           TO ${quoteLiteral(path)} (FORMAT parquet, COMPRESSION zstd)`,
        );
        return copied.rowsChanged;
      });
    } catch (err) {
      await dispose();
      throw sqlError(err);
    }
    const body = createReadStream(path);
    this.exportStreams.add(body);
    body.once("close", () => {
      this.exportStreams.delete(body);
      void dispose();
    });
    return { format: "parquet", contentType: "application/vnd.apache.parquet", rows, body };
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closing = true;
    clearInterval(this.retentionTimer);
    await this.retention?.catch(() => {});
    // Let queued writes finish (their senders are waiting for an answer), then refuse new ones.
    while (this.running.size > 0) await Promise.all(this.running);
    // Exports still being sent end now (their connections and temporary files with them).
    const streams = [...this.exportStreams];
    for (const stream of streams)
      stream.destroy(new StoreError("ERR_STORE_CLOSED", `${this.name} is closing.`));
    await Promise.all(streams.map((stream) => (stream.closed ? undefined : once(stream, "close"))));
    this.closed = true;
    for (const reader of this.readers) reader.interrupt();
    const [first] = this.writers;
    // FORCE: at close no transaction may hold the checkpoint back (a plain CHECKPOINT gives way to
    // one, and the next open would replay the WAL instead).
    if (!this.info.readOnly && first !== undefined) await first.run("FORCE CHECKPOINT").catch(() => {});
    for (const writer of this.writers) writer.closeSync();
    this.instance.closeSync();
  }
}

const EXPORT_PAGE = CHUNK_ROWS;

/** The next page of `doc` texts, oldest first; undefined once every event was given. */
interface ExportPages {
  next(): Promise<string[] | undefined>;
}

/**
 * Keyset pages over `events` (see `exportEvents`): those with a `@timestamp` by
 * (`@timestamp`, `event.id`), then those without one (no `since` then) by `event.id`. The
 * `@timestamp >= $1` conjunct lets DuckDB skip row groups by their min/max.
 */
async function exportPages(connection: DuckDBConnection, since: string | undefined): Promise<ExportPages> {
  const and = since === undefined ? "" : `${since} AND `;
  const columns = `SELECT "@timestamp", "event.id", doc FROM events`;
  const limit = `ORDER BY "@timestamp", "event.id" LIMIT ${EXPORT_PAGE}`;
  const first = await connection.prepare(`${columns} WHERE ${and}"@timestamp" IS NOT NULL ${limit}`);
  const after = await connection.prepare(
    `${columns} WHERE ${and}"@timestamp" >= $1 AND ("@timestamp" > $1 OR "event.id" > $2) ${limit}`,
  );
  const untimed = await connection.prepare(
    `${columns} WHERE "@timestamp" IS NULL AND "event.id" > $1 ORDER BY "event.id" LIMIT ${EXPORT_PAGE}`,
  );
  let phase: "first" | "after" | "untimed" | "done" = "first";
  let lastTime: DuckDBValue = null;
  let lastId = "";
  return {
    async next() {
      for (;;) {
        if (phase === "done") return undefined;
        let statement;
        if (phase === "first") statement = first;
        else if (phase === "after") {
          statement = after;
          statement.bindValue(1, lastTime, TIMESTAMPTZ);
          statement.bindVarchar(2, lastId);
        } else {
          statement = untimed;
          statement.bindVarchar(1, lastId);
        }
        const page = (await statement.runAndReadAll()).getRows();
        const last = page[page.length - 1];
        if (last !== undefined) {
          lastTime = last[0] ?? null;
          lastId = String(last[1]);
        }
        if (page.length < EXPORT_PAGE) {
          // Past the last timed event: the untimed ones (a `since` excludes them), from the start.
          if (phase === "untimed" || since !== undefined) phase = "done";
          else {
            phase = "untimed";
            lastId = "";
          }
        } else if (phase === "first") phase = "after";
        if (page.length > 0) return page.map((row) => String(row[2]));
      }
    },
  };
}

/** A `since` instant as a TIMESTAMPTZ literal; anything but a parseable instant is refused. */
function sinceLiteral(since: string): string {
  const ms = Date.parse(since);
  if (!Number.isFinite(ms)) throw new StoreError("ERR_SQL", `Not an instant: ${since}`);
  return `TIMESTAMPTZ ${quoteLiteral(new Date(ms).toISOString())}`;
}

function sqlError(err: unknown): StoreError {
  return duckdbError(err);
}

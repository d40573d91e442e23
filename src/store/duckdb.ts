/**
 * @module store/duckdb
 * The embedded default store: one DuckDB file, `<dataDir>/events.duckdb`, no service to run.
 *
 * - `events`: the typed columns of `columns.ts` plus the whole document as JSON in `doc`;
 *   `event.id` is the primary key, so a redelivered event is stored once.
 * - `dead_letters`: lines that did not normalize, keyed by a hash of their original text, so the
 *   same bad line delivered again (by a retrying sender, on any connection, a flood of one junk
 *   line) is kept once; `count` says how many times it arrived.
 * - `schema_info`: the schema version, so a later version can migrate an existing file
 *   (2 added `dead_letters.count`).
 *
 * Writes take one of `WRITERS` connections each, one transaction per batch: each document's key
 * and JSON text are appended to a connection-local staging table (the appender is DuckDB's fast
 * path), then moved with `INSERT … SELECT`, which reads the typed columns out of the JSON (a
 * batch holding an `event.id` stored before is run again with `ON CONFLICT DO NOTHING`); `write`
 * resolves only after COMMIT. Reads (query, export) each take a connection of their own, in a
 * READ ONLY transaction.
 */
import { randomUUID } from "node:crypto";
import { createWriteStream } from "node:fs";
import { mkdir, rm } from "node:fs/promises";
import { join, resolve } from "node:path";
import { once } from "node:events";
import { availableParallelism } from "node:os";
import {
  DuckDBDataChunk,
  DuckDBInstance,
  DuckDBVarCharType,
  INTEGER,
  LIST,
  StatementType,
  VARCHAR,
  type DuckDBConnection,
  type DuckDBType,
  type DuckDBValue,
} from "@duckdb/node-api";
import { EVENT_COLUMNS, quoteIdent, quoteLiteral } from "./columns.ts";
import { jsonSafe } from "./duckdb-values.ts";
import { StoreError } from "./errors.ts";
import { replayDeadLetters, type StoredDeadLetter } from "./replay.ts";
import {
  type DeadLetterRow,
  type EventStore,
  type ExportedFile,
  type ExportRequest,
  type QueryOptions,
  type QueryResult,
  type ReplayResult,
  type StoreBatch,
  type StoredDoc,
  type WriteResult,
  textKey,
} from "./store.ts";

/** Bumped when the layout changes in a way `migrate` must handle; added columns need no bump. */
export const SCHEMA_VERSION = 2;
export const DATABASE_FILE = "events.duckdb";
export const DEFAULT_MAX_ROWS = 10_000;
/** DuckDB's vector size: one data chunk holds at most this many rows. */
const CHUNK_ROWS = 2048;
const EXPORT_DIR = "exports";

export interface DuckDbStoreOptions {
  /** The folder holding `events.duckdb`; created when missing (unless read-only). */
  readonly dataDir: string;
  /** Open for reading only (the CLI's `query` and `export` without a server): never creates nor writes. */
  readonly readOnly?: boolean;
  /** Default row cap of `query` (10,000). */
  readonly maxRows?: number;
  /** DuckDB's memory limit, e.g. "1GB" (DuckDB's default: 80% of RAM). */
  readonly memoryLimit?: string;
  /**
   * WAL size that triggers a checkpoint (default "256MB"; DuckDB's own is 16MB). Fewer, larger
   * checkpoints cost less in all (measured: about +40% write throughput); the price is a longer
   * WAL replay when the process restarts after a crash.
   */
  readonly checkpointThreshold?: string;
}

/** Opens (and creates, unless read-only) the DuckDB store in `dataDir`. */
export async function duckdbStore(options: DuckDbStoreOptions): Promise<DuckDbEventStore> {
  const dataDir = resolve(options.dataDir);
  const file = join(dataDir, DATABASE_FILE);
  const readOnly = options.readOnly === true;
  if (!readOnly) await mkdir(join(dataDir, EXPORT_DIR), { recursive: true });
  const config: Record<string, string> = {
    // Offline by design: the json, parquet and icu extensions are built into the binary.
    autoinstall_known_extensions: "false",
    // One core stays with the Node.js thread, which parses, normalizes and stages every event:
    // measured on 2 cores, DuckDB on both cores starved it (TCP intake 13–15k/s against 16–20k/s).
    threads: String(Math.max(1, availableParallelism() - 1)),
  };
  if (readOnly) config.access_mode = "READ_ONLY";
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
      await writer.run(`SET checkpoint_threshold = ${quoteLiteral(options.checkpointThreshold ?? "256MB")}`);
    }
    if (!readOnly) await createSchema(writer);
    else await checkSchema(writer, file);
    // SQL reaches the files of the data folder only: `read_text('/etc/passwd')` or `COPY … TO`
    // elsewhere is refused even in a SELECT (a query may come over HTTP). It cannot be re-enabled.
    await writer.run(`SET allowed_directories = [${quoteLiteral(dataDir + "/")}]`);
    await writer.run("SET enable_external_access = false");
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
    });
  } catch (err) {
    instance.closeSync();
    throw err;
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

/** Writer connections: batches insert in parallel on each (see `duckdbStore`). */
const WRITERS = 2;

const EVENTS_COLUMNS_SQL = EVENT_COLUMNS.map((c) => quoteIdent(c.name)).join(", ") + ", doc";

/** Skips an `event.id` already stored; the fast path leaves it out (see `commitBatch`). */
const ON_CONFLICT = "ON CONFLICT DO NOTHING";

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
  const columns = EVENT_COLUMNS.map((c) =>
    c.name === "event.id" ? `${quoteIdent(c.name)} VARCHAR PRIMARY KEY` : `${quoteIdent(c.name)} ${c.type}`,
  );
  await connection.run(`CREATE TABLE IF NOT EXISTS events (${columns.join(", ")}, doc JSON NOT NULL)`);
  await connection.run(
    `CREATE TABLE IF NOT EXISTS dead_letters (
       id VARCHAR PRIMARY KEY, code VARCHAR NOT NULL, message VARCHAR, original VARCHAR NOT NULL,
       input VARCHAR, received_at TIMESTAMPTZ, count BIGINT NOT NULL DEFAULT 1)`,
  );
  if (version === 1) {
    // Schema 1 had no count: each of its dead letters arrived at least once.
    await connection.run(`ALTER TABLE dead_letters ADD COLUMN IF NOT EXISTS count BIGINT DEFAULT 1`);
    await connection.run(`UPDATE schema_info SET version = ${SCHEMA_VERSION}`);
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
  if (version === null || version === undefined) {
    await connection.run(`INSERT INTO schema_info VALUES (${SCHEMA_VERSION})`);
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
  private closed = false;
  private readonly readers = new Set<DuckDBConnection>();

  constructor(instance: DuckDBInstance, writers: readonly DuckDBConnection[], info: StoreInfo) {
    this.instance = instance;
    this.writers = writers;
    this.idle = [...writers];
    this.info = info;
    this.name = info.file;
    this.dataDir = info.dataDir;
  }

  write(batch: StoreBatch): Promise<WriteResult> {
    // Staged now, before waiting for the writer: the JS work of one batch overlaps the commit of
    // the one before it.
    const docs = stageDocs(batch.docs);
    const letters = batch.deadLetters;
    return this.exclusive(async (writer) => {
      let deadLetters = 0;
      for (const row of letters) deadLetters += row.count ?? 1;
      let redelivered = false;
      for (let attempt = 1; ; attempt++) {
        try {
          const inserted = await this.commitBatch(writer, docs, letters, redelivered);
          return { inserted, duplicates: batch.docs.length - inserted, deadLetters };
        } catch (err) {
          // Rare (a sender resent what was stored, or the other writer committed the same id
          // first): the whole batch again, skipping what is stored.
          if (isDuplicateKey(err) && !redelivered) {
            redelivered = true;
            continue;
          }
          // Both writers counting the same dead letter at once: DuckDB refuses the second
          // update of that row (optimistic concurrency); the batch rolled back, so run it again.
          if (isWriteConflict(err) && attempt < MAX_CONFLICT_RETRIES) continue;
          throw err;
        }
      }
    });
  }

  /**
   * One batch in one transaction, in as few statements as possible (each `run` is a round trip
   * to DuckDB's thread). A plain INSERT costs about half of `ON CONFLICT DO NOTHING` (measured),
   * and the primary key still refuses an `event.id` stored before: the batch then fails whole and
   * `write` runs it again with `redelivered`, which skips stored ids and counts what was new.
   */
  private async commitBatch(
    writer: DuckDBConnection,
    docs: StagedDocs,
    letters: readonly DeadLetterRow[],
    redelivered: boolean,
  ): Promise<number> {
    return this.transaction(writer, async () => {
      let inserted = docs.rows;
      const statements: string[] = [];
      if (docs.rows > 0) {
        await append(writer, "staging_events", EVENT_TYPES, docs.rows, docs.columns);
        if (redelivered) inserted = (await writer.run(`${INSERT_EVENTS_SQL} ${ON_CONFLICT}`)).rowsChanged;
        else statements.push(INSERT_EVENTS_SQL);
        statements.push("DELETE FROM staging_events");
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
      return inserted;
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

  private async deleteDeadLetters(writer: DuckDBConnection, ids: readonly string[]): Promise<void> {
    const statement = await writer.prepare(`DELETE FROM dead_letters WHERE list_contains($1, id)`);
    statement.bindList(1, ids, LIST(VARCHAR));
    await statement.run();
  }

  async query(sql: string, options: QueryOptions = {}): Promise<QueryResult> {
    const maxRows = options.maxRows ?? this.info.maxRows;
    return this.withReader(async (connection) => {
      const statement = await prepareReadOnly(connection, sql);
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
  private async withReader<T>(task: (connection: DuckDBConnection) => Promise<T>): Promise<T> {
    if (this.closed) throw new StoreError("ERR_STORE_CLOSED", `${this.name} is closed.`);
    const connection = await this.instance.connect();
    this.readers.add(connection);
    try {
      await connection.run(this.info.readOnly ? "BEGIN TRANSACTION" : "BEGIN TRANSACTION READ ONLY");
      try {
        return await task(connection);
      } finally {
        await connection.run("ROLLBACK").catch(() => {});
      }
    } finally {
      this.readers.delete(connection);
      connection.closeSync();
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
            const inserted = (await writer.run(`${INSERT_EVENTS_SQL} ${ON_CONFLICT}`)).rowsChanged;
            await writer.run("DELETE FROM staging_events");
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

  async exportFile(request: ExportRequest): Promise<ExportedFile> {
    const dir = join(this.dataDir, EXPORT_DIR);
    if (!this.info.readOnly) await mkdir(dir, { recursive: true });
    const path = join(dir, `export-${randomUUID()}.${request.format}`);
    const where = request.since === undefined ? "" : `WHERE "@timestamp" >= ${sinceLiteral(request.since)}`;
    const dispose = (): Promise<void> => rm(path, { force: true });
    try {
      const rows = await this.withReader(async (connection) => {
        if (request.format === "parquet") {
          const copied = await connection.run(
            `COPY (SELECT ${EVENTS_COLUMNS_SQL} FROM events ${where} ORDER BY "@timestamp", "event.id")
             TO ${quoteLiteral(path)} (FORMAT parquet, COMPRESSION zstd)`,
          );
          return copied.rowsChanged;
        }
        return writeNdjson(
          connection,
          `SELECT doc FROM events ${where} ORDER BY "@timestamp", "event.id"`,
          path,
        );
      });
      const contentType =
        request.format === "parquet" ? "application/vnd.apache.parquet" : "application/x-ndjson";
      return { path, rows, format: request.format, contentType, dispose };
    } catch (err) {
      await dispose();
      throw err;
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    // Let queued writes finish (their senders are waiting for an answer), then refuse new ones.
    while (this.running.size > 0) await Promise.all(this.running);
    this.closed = true;
    for (const reader of this.readers) reader.interrupt();
    const [first] = this.writers;
    if (!this.info.readOnly && first !== undefined) await first.run("CHECKPOINT").catch(() => {});
    for (const writer of this.writers) writer.closeSync();
    this.instance.closeSync();
  }
}

/** A `since` instant as a TIMESTAMPTZ literal; anything but a parseable instant is refused. */
function sinceLiteral(since: string): string {
  const ms = Date.parse(since);
  if (!Number.isFinite(ms)) throw new StoreError("ERR_SQL", `Not an instant: ${since}`);
  return `TIMESTAMPTZ ${quoteLiteral(new Date(ms).toISOString())}`;
}

/** Each stored `doc` text, one per line: byte for byte what `write` stored. */
async function writeNdjson(connection: DuckDBConnection, sql: string, path: string): Promise<number> {
  const out = createWriteStream(path);
  let rows = 0;
  try {
    const result = await connection.stream(sql);
    for (;;) {
      const chunk = await result.fetchChunk();
      if (chunk === null || chunk.rowCount === 0) break;
      const lines = chunk.getColumnValues(0).map((v) => `${String(v)}\n`);
      rows += lines.length;
      if (!out.write(lines.join(""))) await once(out, "drain");
    }
  } finally {
    out.end();
    await once(out, "close");
  }
  return rows;
}

const READ_ONLY_STATEMENTS: ReadonlySet<StatementType> = new Set([
  StatementType.SELECT,
  StatementType.EXPLAIN,
]);

/**
 * DuckDB's own parser decides what the text is: exactly one statement, a SELECT (which covers
 * WITH, FROM-first, VALUES, DESCRIBE, SHOW, SUMMARIZE, PRAGMA table_info) or an EXPLAIN.
 * The READ ONLY transaction around it is the second lock (EXPLAIN ANALYZE runs its statement).
 */
async function prepareReadOnly(connection: DuckDBConnection, sql: string) {
  let extracted;
  try {
    extracted = await connection.extractStatements(sql);
  } catch (err) {
    throw sqlError(err);
  }
  if (extracted.count === 0) throw new StoreError("ERR_SQL_REFUSED", "No SQL statement given.");
  if (extracted.count > 1) {
    throw new StoreError("ERR_SQL_REFUSED", `Only one statement at a time (found ${extracted.count}).`);
  }
  let statement;
  try {
    statement = await extracted.prepare(0);
  } catch (err) {
    throw sqlError(err);
  }
  if (!READ_ONLY_STATEMENTS.has(statement.statementType)) {
    const kind = StatementType[statement.statementType] ?? String(statement.statementType);
    throw new StoreError(
      "ERR_SQL_REFUSED",
      `Read-only: only SELECT-style statements (SELECT, WITH, DESCRIBE, SHOW, SUMMARIZE, EXPLAIN) are allowed, not ${kind}.`,
    );
  }
  return statement;
}

function sqlError(err: unknown): StoreError {
  if (err instanceof StoreError) return err;
  const message = err instanceof Error ? err.message : String(err);
  return new StoreError("ERR_SQL", message, { cause: err });
}

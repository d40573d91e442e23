/**
 * @module store/store
 * What every event store is: the durable end of the intake. The server hands it batches and
 * acknowledges a sender only once `write` has resolved, so `write` must resolve only after the
 * batch is committed (one transaction per batch). Stores are nouns with a factory each and one
 * registry (`store/index.ts`): DuckDB is the embedded default; a broker or Elasticsearch can join
 * later without touching the server.
 */
import { createHash } from "node:crypto";
import type { Readable } from "node:stream";
import type { EcsDocument } from "../ecs/document.ts";
import type { HostRow } from "../enrich/hosts.ts";
import { readPath } from "./columns.ts";

/** A line that could not be normalized, kept whole so that `replay` can try it again later. */
export interface DeadLetterRow {
  /** The stable code (`ERR_JSON_SYNTAX`…). */
  readonly code: string;
  readonly message: string;
  /** The original text of the line, as received. */
  readonly original: string;
  /** The input's name: a listener (`http`, `tcp:127.0.0.1:50312`), a file, `-`. */
  readonly input: string;
  /** ISO-8601 UTC. */
  readonly receivedAt: string;
  /** How many times this same text arrived in the batch (1 when absent): stored once, counted. */
  readonly count?: number;
}

/**
 * A document as stores take it: its key and its JSON text. The server makes it right after
 * normalizing a line, so the document's object tree dies young and only one flat string waits in
 * the queue for the commit (measured: about a tenth more events/s through the server, from less
 * garbage collection).
 */
export interface StoredDoc {
  /** `event.id`, which every normalized document has (a hash of the raw line when Tanium gives none). */
  readonly id: string;
  /** What is stored, and what export gives back byte for byte. */
  readonly json: string;
}

/** The key of a text: the same text, whoever sent it, has the same key (128 bits of its SHA-256, hex). */
export function textKey(text: string): string {
  return createHash("sha256").update(text).digest("hex").slice(0, 32);
}

/** A document serialized for a store; one without `event.id` gets the `textKey` of its JSON text. */
export function storedDoc(doc: EcsDocument): StoredDoc {
  const json = JSON.stringify(doc);
  const id = readPath(doc, ["event", "id"]);
  if (typeof id === "string" && id !== "") return { id, json };
  return { id: textKey(json), json };
}

export interface StoreBatch {
  readonly docs: readonly StoredDoc[];
  readonly deadLetters: readonly DeadLetterRow[];
}

export interface WriteResult {
  /** Documents newly stored. */
  readonly inserted: number;
  /** Documents whose `event.id` was already stored (a redelivery): not stored again. */
  readonly duplicates: number;
  readonly deadLetters: number;
  /**
   * The `event.id`s of the batch found already stored, when the store can tell (a sink then
   * settles each event exactly as `duplicate` or `delivered`); absent, only the counts are known.
   */
  readonly duplicateIds?: readonly string[];
}

export interface QueryResult {
  readonly columns: readonly string[];
  /** JSON-safe values: BIGINT as number when safe else string, timestamps as ISO-8601 strings. */
  readonly rows: readonly (readonly unknown[])[];
  /** The SQL type of each column (`VARCHAR`, `BIGINT`, `TIMESTAMP WITH TIME ZONE`…), when known. */
  readonly types?: readonly string[];
  /** True when the result had more rows than the store's row cap and was cut there. */
  readonly truncated?: boolean;
}

export interface QueryOptions {
  /** Cap on the rows returned (the store's default when absent). */
  readonly maxRows?: number;
  /** Time limit in ms (the store's default when absent; 0: none): past it, ERR_QUERY_TIMEOUT. */
  readonly timeoutMs?: number;
  /** Aborted when the client went away: the statement is cancelled (ERR_QUERY_CANCELLED). */
  readonly signal?: AbortSignal;
}

/** What `replay` did: dead letters that now normalize moved to `events`, the rest left in place. */
export interface ReplayResult {
  readonly replayed: number;
  readonly stillFailing: number;
  /** Still failing, by their (current) error code. */
  readonly failingByCode: Readonly<Record<string, number>>;
}

export type ExportFormat = "ndjson" | "parquet";

export interface ExportRequest {
  readonly format: ExportFormat;
  /** Only events with `@timestamp` at or after this instant (ISO-8601). */
  readonly since?: string;
  /** Aborted when the client went away before the export started streaming. */
  readonly signal?: AbortSignal;
}

/** An export as bytes to send; reading it to its end, or destroying it, frees what it holds. */
export interface ExportStream {
  readonly format: ExportFormat;
  readonly contentType: string;
  /** The events in it. */
  readonly rows: number;
  readonly body: Readable;
}

export interface EventStore {
  /** For messages: the database file. */
  readonly name: string;
  /** Store one batch in one transaction; resolves once committed, rejects if nothing was stored. */
  write(batch: StoreBatch): Promise<WriteResult>;
  /**
   * Read-only SQL over `events` and `dead_letters`; a statement that writes, reads a file or
   * changes a setting is refused (ERR_SQL_REFUSED).
   */
  query(sql: string, options?: QueryOptions): Promise<QueryResult>;
  /**
   * Optional capabilities (a store that lacks one answers 501 on its `/api/*` route): run the dead
   * letters through the current normalizer again; write the events to a file for a data lake.
   */
  replay?(): Promise<ReplayResult>;
  exportEvents?(request: ExportRequest): Promise<ExportStream>;
  /**
   * The host table of the enrichment stage (`enrich/hosts.ts`): what inventory rows said of each
   * host, kept so that a restart does not forget it. Not part of any batch's acknowledgement: a
   * fact lost in a crash comes again with the next inventory row.
   */
  loadHosts?(): Promise<HostRow[]>;
  saveHosts?(rows: readonly HostRow[]): Promise<void>;
  /** Commit what is pending and release the database. */
  close(): Promise<void>;
}

/** Each store kind is built by one async factory (it opens or creates its database first). */
export type StoreFactory<Options> = (options: Options) => Promise<EventStore>;

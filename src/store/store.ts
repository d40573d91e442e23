/**
 * @module store/store
 * What every event store is: the durable end of the intake. The server hands it batches and
 * acknowledges a sender only once `write` has resolved, so `write` must resolve only after the
 * batch is committed (one transaction per batch). Stores are nouns with a factory each and one
 * registry (`store/index.ts`): DuckDB is the embedded default; a broker or Elasticsearch can join
 * later without touching the server.
 */
import type { EcsDocument } from "../ecs/document.ts";

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
}

export interface StoreBatch {
  readonly docs: readonly EcsDocument[];
  readonly deadLetters: readonly DeadLetterRow[];
}

export interface WriteResult {
  /** Documents newly stored. */
  readonly inserted: number;
  /** Documents whose `event.id` was already stored (a redelivery): not stored again. */
  readonly duplicates: number;
  readonly deadLetters: number;
}

export interface QueryResult {
  readonly columns: readonly string[];
  /** JSON-safe values: BIGINT as number when safe else string, timestamps as ISO-8601 strings. */
  readonly rows: readonly (readonly unknown[])[];
}

export interface EventStore {
  /** For messages: the database file. */
  readonly name: string;
  /** Store one batch in one transaction; resolves once committed, rejects if nothing was stored. */
  write(batch: StoreBatch): Promise<WriteResult>;
  /** Read-only SQL over `events` and `dead_letters`; a statement that writes is refused. */
  query(sql: string): Promise<QueryResult>;
  /** Commit what is pending and release the database. */
  close(): Promise<void>;
}

/** Each store kind is built by one async factory (it opens or creates its database first). */
export type StoreFactory<Options> = (options: Options) => Promise<EventStore>;

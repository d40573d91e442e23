/**
 * @module store
 * The registry of event stores: one factory per kind. The server opens its store through here
 * (`await stores.duckdb({ dataDir })`), so another store (a broker, Elasticsearch) is one more
 * entry, with nothing else to change.
 */
import { duckdbStore } from "./duckdb.ts";
import type { StoreFactory } from "./store.ts";

export const stores = {
  duckdb: duckdbStore,
} satisfies Record<string, StoreFactory<never>>;

export type StoreKind = keyof typeof stores;

export type {
  DeadLetterRow,
  EventStore,
  ExportFormat,
  ExportRequest,
  ExportStream,
  QueryOptions,
  QueryResult,
  ReplayResult,
  StoreBatch,
  StoredDoc,
  StoreFactory,
  WriteResult,
} from "./store.ts";
export { storedDoc } from "./store.ts";
export {
  DATABASE_FILE,
  DEFAULT_MAX_ROWS,
  DEFAULT_QUERY_TIMEOUT_MS,
  DuckDbEventStore,
  duckdbStore,
  type DuckDbStoreOptions,
} from "./duckdb.ts";
export { EVENT_COLUMNS, EVENT_COLUMN_NAMES } from "./columns.ts";
export { isSqlError, STORE_ERROR_CODES, StoreError, type StoreErrorCode } from "./errors.ts";
export { formatReplay } from "./replay.ts";

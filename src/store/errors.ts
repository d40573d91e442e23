/**
 * @module store/errors
 * The one table of the store's stable error codes, which `/api/*` answers and the CLI prints:
 * SQL the user may fix (a 400 on `/api/query`, exit 1 in the CLI), a statement stopped at its time
 * limit or because its client went away, a database held by another process, a write to a store
 * opened read-only.
 */

export const STORE_ERROR_CODES = {
  ERR_SQL_REFUSED:
    "The statement is not one read-only SELECT-style statement over the store's tables (INSERT, COPY, ATTACH, SET, CHECKPOINT, PRAGMA, a file or settings function, two statements…).",
  ERR_SQL: "DuckDB could not parse, bind or run the statement.",
  ERR_QUERY_TIMEOUT: "The statement ran past the query time limit and was cancelled.",
  ERR_QUERY_CANCELLED: "The client went away: its statement or export was cancelled.",
  ERR_STORE_LOCKED: "Another process (a running `tanium-ecs serve`, most likely) holds the database file.",
  ERR_STORE_MISSING: "No database at the given place (opening read-only never creates one).",
  ERR_STORE_READ_ONLY: "A write to a store opened read-only.",
  ERR_STORE_CLOSED: "The store is closed.",
} as const;

export type StoreErrorCode = keyof typeof STORE_ERROR_CODES;

export class StoreError extends Error {
  override name = "StoreError";
  readonly code: StoreErrorCode;
  constructor(code: StoreErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
  }
}

/** True for the errors caused by the statement itself (the user's to fix: a 400). */
export function isSqlError(err: unknown): err is StoreError {
  return (
    err instanceof StoreError &&
    (err.code === "ERR_SQL" || err.code === "ERR_SQL_REFUSED" || err.code === "ERR_QUERY_TIMEOUT")
  );
}

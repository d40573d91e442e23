/**
 * @module store/errors
 * Store failures a caller must tell apart: SQL the user may fix (a 400 on `/api/query`, exit 1 in
 * the CLI), a database held by another process, a write to a store opened read-only.
 */

export type StoreErrorCode =
  /** The statement is not a single read-only one (INSERT, ATTACH, COPY, two statements…). */
  | "ERR_SQL_REFUSED"
  /** DuckDB could not parse, bind or run the statement. */
  | "ERR_SQL"
  /** Another process (a running `tanium-ecs serve`, most likely) holds the database file. */
  | "ERR_STORE_LOCKED"
  /** No database at the given place (opening read-only never creates one). */
  | "ERR_STORE_MISSING"
  /** A write to a store opened read-only, or after close. */
  | "ERR_STORE_READ_ONLY"
  | "ERR_STORE_CLOSED";

export class StoreError extends Error {
  override name = "StoreError";
  readonly code: StoreErrorCode;
  constructor(code: StoreErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
  }
}

/** True for the errors caused by the SQL text itself (the user's to fix). */
export function isSqlError(err: unknown): err is StoreError {
  return err instanceof StoreError && (err.code === "ERR_SQL" || err.code === "ERR_SQL_REFUSED");
}

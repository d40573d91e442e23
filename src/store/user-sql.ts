/**
 * @module store/user-sql
 * What a user's statement (`tanium-ecs query`, `POST /api/query`) may be, decided on DuckDB's own
 * parse of it, before anything is bound or run (binding alone has effects: preparing
 * `EXPORT DATABASE` creates its directory):
 *
 * - exactly one statement (`extractStatements` only parses);
 * - that `json_serialize_sql` accepts: it serializes SELECT statements only (SELECT, WITH, FROM-first,
 *   VALUES, DESCRIBE, SHOW, SUMMARIZE) and refuses every other kind: COPY, ATTACH, SET, RESET,
 *   PRAGMA, CALL, CHECKPOINT, EXPORT, INSTALL, LOAD, PIVOT, DML, DDL;
 * - or `EXPLAIN [ANALYZE]` in front of such a statement (EXPLAIN ANALYZE runs what it wraps, so the
 *   wrapped text is checked the same way);
 * - whose tree calls no table function but the read-only ones below: `checkpoint()`,
 *   `read_blob()`, `glob()`, `query()` are SELECTs too.
 *
 * The store's DuckDB instance is the second lock (no file access, configuration locked: see
 * `duckdb.ts`), the READ ONLY transaction the third.
 */
import { StatementType, type DuckDBConnection, type DuckDBPreparedStatement } from "@duckdb/node-api";
import { StoreError } from "./errors.ts";

/**
 * Table functions a user may call: generators, JSON walkers and the catalog's own views. Every
 * other one (files: read_csv, read_text, read_blob, glob, parquet_*; effects: checkpoint,
 * force_checkpoint; SQL hidden in a string: query, query_table) is refused.
 */
export const USER_TABLE_FUNCTIONS: ReadonlySet<string> = new Set([
  "range",
  "generate_series",
  "unnest",
  "json_each",
  "json_tree",
  "duckdb_columns",
  "duckdb_constraints",
  "duckdb_databases",
  "duckdb_functions",
  "duckdb_indexes",
  "duckdb_keywords",
  "duckdb_schemas",
  "duckdb_tables",
  "duckdb_types",
  "duckdb_views",
  "pragma_table_info",
]);

const ALLOWED =
  "only SELECT-style statements (SELECT, WITH, FROM, VALUES, DESCRIBE, SHOW, SUMMARIZE, and EXPLAIN [ANALYZE] of one) are allowed";

/** `EXPLAIN` or `EXPLAIN ANALYZE` and the statement it wraps; anything fancier is refused. */
const EXPLAIN_PREFIX = /^\s*EXPLAIN(?:\s+ANALYZE)?\s+/i;

function refuse(message: string): StoreError {
  return new StoreError("ERR_SQL_REFUSED", message);
}

/** The first word, to name what was refused (the decision is DuckDB's parse, never this). */
function firstWord(sql: string): string {
  return /^\s*([A-Za-z_]+)/.exec(sql)?.[1]?.toUpperCase() ?? "this statement";
}

/**
 * A DuckDB failure as a StoreError: the instance's refusal to touch a file ("Permission Error",
 * e.g. `IMPORT DATABASE` reads its files while it is merely parsed) is a refusal, the rest ERR_SQL.
 */
export function duckdbError(err: unknown): StoreError {
  if (err instanceof StoreError) return err;
  const message = err instanceof Error ? err.message : String(err);
  const refused = /\bPermission Error\b|disabled by configuration/.test(message);
  return new StoreError(refused ? "ERR_SQL_REFUSED" : "ERR_SQL", message, { cause: err });
}

async function countStatements(connection: DuckDBConnection, sql: string): Promise<number> {
  try {
    return (await connection.extractStatements(sql)).count;
  } catch (err) {
    throw duckdbError(err);
  }
}

interface Serialized {
  readonly error: boolean;
  readonly error_type?: string;
  readonly error_message?: string;
  readonly statements?: readonly unknown[];
}

/** DuckDB's parse tree of `sql` as JSON (parse only: nothing is bound or run). */
async function serialize(connection: DuckDBConnection, sql: string): Promise<Serialized> {
  const statement = await connection.prepare("SELECT json_serialize_sql($1::VARCHAR)");
  statement.bindVarchar(1, sql);
  const reader = await statement.runAndReadAll();
  const text = reader.getRows()[0]?.[0];
  if (typeof text !== "string") throw refuse(`Read-only: ${ALLOWED}.`);
  return JSON.parse(text) as Serialized;
}

/** Refuses a tree that calls a table function not in `USER_TABLE_FUNCTIONS` or scans a file by name. */
function checkTree(tree: unknown): void {
  // Iterative: a deeply nested expression must not overflow the stack.
  const stack: unknown[] = [tree];
  while (stack.length > 0) {
    const node = stack.pop();
    if (node === null || typeof node !== "object") continue;
    if (Array.isArray(node)) {
      for (const child of node) stack.push(child);
      continue;
    }
    const record = node as Record<string, unknown>;
    if (record.type === "TABLE_FUNCTION") {
      const fn = record.function as Record<string, unknown> | null | undefined;
      const name = typeof fn?.function_name === "string" ? fn.function_name.toLowerCase() : "";
      const qualified = (fn?.schema ?? "") !== "" || (fn?.catalog ?? "") !== "";
      if (qualified || !USER_TABLE_FUNCTIONS.has(name)) {
        throw refuse(
          `Read-only: the table function ${name === "" ? "(unnamed)" : name}() is not allowed (files, settings and checkpoints are out of reach; allowed: ${[...USER_TABLE_FUNCTIONS].join(", ")}).`,
        );
      }
    }
    // `FROM 'file.csv'` is a table name that DuckDB turns into a file scan.
    if (
      record.type === "BASE_TABLE" &&
      typeof record.table_name === "string" &&
      /[./\\:]/.test(record.table_name)
    ) {
      throw refuse(
        `Read-only: ${JSON.stringify(record.table_name)} names a file; only the store's tables can be read.`,
      );
    }
    for (const value of Object.values(record))
      if (value !== null && typeof value === "object") stack.push(value);
  }
}

/** Checks `sql` is one SELECT statement whose tree passes `checkTree`. */
async function checkSelect(connection: DuckDBConnection, sql: string): Promise<"select" | "not-select"> {
  const count = await countStatements(connection, sql);
  if (count === 0) throw refuse("No SQL statement given.");
  if (count > 1) throw refuse(`Only one statement at a time (found ${count}).`);
  const parsed = await serialize(connection, sql);
  if (parsed.error) {
    // "not implemented" is json_serialize_sql's answer for every statement kind but SELECT.
    if (parsed.error_type === "not implemented") return "not-select";
    throw new StoreError("ERR_SQL", parsed.error_message ?? "The statement does not parse.");
  }
  if (parsed.statements?.length !== 1) throw refuse(`Read-only: ${ALLOWED}.`);
  checkTree(parsed.statements);
  return "select";
}

/**
 * The user's statement, prepared once it passed every check above; its prepared type is checked
 * again (SELECT, or EXPLAIN around the SELECT checked).
 */
export async function prepareUserStatement(
  connection: DuckDBConnection,
  sql: string,
): Promise<DuckDBPreparedStatement> {
  let expected = StatementType.SELECT;
  let whole: "select" | "not-select" | StoreError;
  try {
    whole = await checkSelect(connection, sql);
  } catch (err) {
    // `EXPLAIN ATTACH …` does not even parse: still, say what it wraps is refused.
    if (!(err instanceof StoreError) || err.code !== "ERR_SQL") throw err;
    whole = err;
  }
  if (whole !== "select") {
    const explain = EXPLAIN_PREFIX.exec(sql);
    const wrapped = explain === null ? undefined : sql.slice(explain[0].length);
    if (wrapped === undefined) {
      if (whole instanceof StoreError) throw whole;
      throw refuse(`Read-only: ${ALLOWED}, not ${firstWord(sql)}.`);
    }
    if ((await checkSelect(connection, wrapped)) === "not-select") {
      throw refuse(`Read-only: ${ALLOWED}, not ${firstWord(wrapped)}.`);
    }
    if (whole instanceof StoreError) throw whole;
    expected = StatementType.EXPLAIN;
  }
  let statement: DuckDBPreparedStatement;
  try {
    statement = await connection.prepare(sql);
  } catch (err) {
    throw duckdbError(err);
  }
  if (statement.statementType !== expected) {
    statement.destroySync();
    throw refuse(`Read-only: ${ALLOWED}.`);
  }
  return statement;
}

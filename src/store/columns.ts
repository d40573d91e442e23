/**
 * @module store/columns
 * The typed columns of the `events` table: the most-searched ECS fields, each named by its ECS
 * field so that SQL reads like ECS (`SELECT "host.name", count(*) FROM events …`). The whole
 * document is kept besides them in `doc`, so a column is only an index into it: adding one is one
 * line here (an existing database gets it added, empty for the rows stored before, at open).
 */

/** The DuckDB types a column may have; each has one reader from the document's JSON value. */
export type ColumnType = "VARCHAR" | "VARCHAR[]" | "BIGINT" | "INTEGER" | "DOUBLE" | "TIMESTAMPTZ";

export interface EventColumn {
  /** The ECS field name, also the SQL column name (quoted: it holds dots). */
  readonly name: string;
  readonly type: ColumnType;
  /** Where the value sits in the nested ECS document. */
  readonly path: readonly string[];
}

function column(name: string, type: ColumnType = "VARCHAR"): EventColumn {
  // ECS nests by the dots of the field name; `@timestamp` has none.
  return { name, type, path: name.split(".") };
}

/** `event.id` first: it is the primary key (an event delivered twice is stored once). */
export const EVENT_COLUMNS: readonly EventColumn[] = [
  column("event.id"),
  column("@timestamp", "TIMESTAMPTZ"),
  column("event.kind"),
  column("event.category", "VARCHAR[]"),
  column("event.type", "VARCHAR[]"),
  column("event.action"),
  column("event.dataset"),
  column("event.module"),
  column("event.outcome"),
  column("event.severity", "BIGINT"),
  column("event.risk_score", "DOUBLE"),
  column("event.ingested", "TIMESTAMPTZ"),
  column("host.name"),
  column("host.hostname"),
  column("host.id"),
  column("host.ip", "VARCHAR[]"),
  column("user.name"),
  column("user.domain"),
  column("user.id"),
  column("process.pid", "BIGINT"),
  column("process.name"),
  column("process.executable"),
  column("process.command_line"),
  column("process.entity_id"),
  column("process.parent.pid", "BIGINT"),
  column("process.parent.name"),
  column("process.parent.executable"),
  column("source.ip"),
  column("source.port", "INTEGER"),
  column("destination.ip"),
  column("destination.port", "INTEGER"),
  column("network.direction"),
  column("file.path"),
  column("file.name"),
  column("file.hash.md5"),
  column("file.hash.sha1"),
  column("file.hash.sha256"),
  column("dns.question.name"),
  column("registry.path"),
  column("registry.key"),
  column("registry.value"),
  column("rule.name"),
  column("rule.id"),
  column("threat.technique.id", "VARCHAR[]"),
  column("message"),
];

/** The column names, for `--where` shortcuts: a bare dotted ECS name that is one of them gets quoted. */
export const EVENT_COLUMN_NAMES: ReadonlySet<string> = new Set(EVENT_COLUMNS.map((c) => c.name));

/** A SQL identifier, double-quoted (a `"` inside is doubled). */
export function quoteIdent(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}

/** A SQL string literal, single-quoted (a `'` inside is doubled). */
export function quoteLiteral(value: string): string {
  return `'${value.replaceAll("'", "''")}'`;
}

/** The value at `path` in a parsed document; own properties only, so no prototype is ever read. */
export function readPath(doc: unknown, path: readonly string[]): unknown {
  let value: unknown = doc;
  for (const key of path) {
    if (value === null || typeof value !== "object" || Array.isArray(value)) return undefined;
    if (!Object.prototype.hasOwnProperty.call(value, key)) return undefined;
    value = (value as Record<string, unknown>)[key];
  }
  return value;
}

/**
 * @module cli/query-command
 * `tanium-ecs query ["<SQL>"]`: read-only SQL over the stored events, answered by the running
 * server (`POST /api/query`) or, when nothing listens at `--server`, straight from `--data`.
 * Without SQL the shortcuts build one: `--since 1h`, `--where "process.name = 'x'"` (a bare dotted
 * ECS name that is a column of `events` is quoted for you), `--count-by host.name`, `--limit N`.
 * Output: an aligned table on a terminal (or with `--table`), NDJSON (one object per row)
 * otherwise or with `--json`. Exit status 0, or 1 on a usage, SQL or connection error.
 */
import { Command, InvalidArgumentError, Option } from "commander";
import stringWidth from "string-width";
import { EVENT_COLUMN_NAMES, quoteIdent, quoteLiteral } from "../store/columns.ts";
import {
  CliError,
  openDataDir,
  postToServer,
  serverListening,
  type StoreClientOptions,
} from "../store/client.ts";
import { isSqlError } from "../store/errors.ts";
import { dataGivenAlone } from "./stdout.ts";
import { reportFailure, withStoreClientOptions } from "./store-client.ts";
import type { QueryResult } from "../store/store.ts";

export const EXIT_OK = 0;
const DEFAULT_LIMIT = 100;
const MAX_LIMIT = 10_000;

/** The columns a shortcut query shows: when, where, who, what. */
export const DEFAULT_COLUMNS = [
  "@timestamp",
  "host.name",
  "event.action",
  "user.name",
  "process.name",
  "message",
] as const;

export interface QueryCommandOptions extends StoreClientOptions {
  json?: boolean;
  table?: boolean;
  since?: string;
  where?: string;
  countBy?: string;
  limit?: number;
  /** Read `--data` without asking a server first (`--data` given without `--server`). */
  direct?: boolean;
}

export function queryCommand(): Command {
  return withStoreClientOptions(
    new Command("query")
      .description("Read-only SQL over the stored events (table `events`, `dead_letters`), or shortcuts.")
      .argument("[sql]", "one SELECT statement; without it, the shortcuts below build one"),
  )
    .option("--json", "NDJSON, one object per row (the default when stdout is not a terminal)")
    .option("--table", "an aligned table even when stdout is not a terminal")
    .option("--since <age>", "only events since 30m, 1h, 2d, 1w ago, or an ISO-8601 instant")
    .option("--where <condition>", "a SQL condition; bare ECS names such as process.name are quoted")
    .option("--count-by <field>", "count events by this field, largest first")
    .addOption(
      new Option("--limit <n>", `at most this many rows (default ${DEFAULT_LIMIT} for shortcuts)`).argParser(
        (value) => {
          const n = /^\d+$/.test(value) ? Number(value) : NaN;
          if (!Number.isSafeInteger(n) || n < 1 || n > MAX_LIMIT) {
            throw new InvalidArgumentError(`Expected a whole number from 1 to ${MAX_LIMIT}.`);
          }
          return n;
        },
      ),
    )
    .action(async (sql: string | undefined, options: QueryCommandOptions, command: Command) => {
      process.exitCode = await runQuery(sql, { ...options, direct: dataGivenAlone(command) });
    });
}

export async function runQuery(sql: string | undefined, options: QueryCommandOptions): Promise<number> {
  try {
    const statement = buildQuery(sql, options, new Date());
    const result = await ask(statement, options);
    const table = options.table === true || (options.json !== true && process.stdout.isTTY === true);
    process.stdout.write(table ? formatTable(result) : formatNdjson(result));
    if (result.truncated === true) {
      process.stderr.write(`tanium-ecs: only the first ${result.rows.length} rows are shown.\n`);
    }
    return EXIT_OK;
  } catch (err) {
    return reportFailure(err);
  }
}

async function ask(sql: string, options: QueryCommandOptions): Promise<QueryResult> {
  const maxRows = options.limit;
  if (options.direct !== true && (await serverListening(options.server))) {
    const response = await postToServer(options, "/api/query", { sql });
    const answer = (await response.json()) as QueryResult;
    return maxRows === undefined || answer.rows.length <= maxRows
      ? answer
      : { ...answer, rows: answer.rows.slice(0, maxRows), truncated: true };
  }
  const store = await openDataDir(options, true);
  try {
    return await store.query(sql, maxRows === undefined ? {} : { maxRows });
  } catch (err) {
    if (isSqlError(err)) throw new CliError(err.message);
    throw err;
  } finally {
    await store.close();
  }
}

/** The SQL to run: the user's own, or one built from the shortcuts. */
export function buildQuery(sql: string | undefined, options: QueryCommandOptions, now: Date): string {
  const shortcuts = [options.since, options.where, options.countBy].some((o) => o !== undefined);
  if (sql !== undefined && sql.trim() !== "") {
    if (shortcuts)
      throw new CliError("--since, --where and --count-by build a query: give them or SQL, not both.");
    return sql;
  }
  const conditions: string[] = [];
  if (options.since !== undefined) {
    conditions.push(`"@timestamp" >= TIMESTAMPTZ ${quoteLiteral(sinceInstant(options.since, now))}`);
  }
  if (options.where !== undefined) conditions.push(`(${quoteColumns(options.where)})`);
  const where = conditions.length === 0 ? "" : ` WHERE ${conditions.join(" AND ")}`;
  const limit = options.limit ?? DEFAULT_LIMIT;
  if (options.countBy !== undefined) {
    const field = fieldExpression(options.countBy);
    return `SELECT ${field}, count(*) AS count FROM events${where} GROUP BY ALL ORDER BY count DESC, 1 LIMIT ${limit}`;
  }
  const columns = DEFAULT_COLUMNS.map(quoteIdent).join(", ");
  return `SELECT ${columns} FROM events${where} ORDER BY "@timestamp" DESC LIMIT ${limit}`;
}

const AGE = /^(\d+)\s*([smhdw])$/;
const UNIT_MS: Readonly<Record<string, number>> = { s: 1e3, m: 6e4, h: 36e5, d: 864e5, w: 6048e5 };

/** `30m`, `1h`, `2d`, `1w` before `now`, or an ISO-8601 instant, as ISO-8601 UTC. */
export function sinceInstant(since: string, now: Date): string {
  const age = AGE.exec(since.trim());
  if (age !== null) {
    const [, amount, unit] = age;
    return new Date(now.getTime() - Number(amount) * (UNIT_MS[unit ?? ""] ?? 0)).toISOString();
  }
  if (/^\d{4}-\d{2}-\d{2}/.test(since) && Number.isFinite(Date.parse(since))) {
    return new Date(Date.parse(since)).toISOString();
  }
  throw new CliError(
    `--since: expected an age such as 30m, 1h, 2d, 1w, or an ISO-8601 instant, not "${since}".`,
  );
}

/** `--count-by`: a column name (quoted), or an expression the user quoted already. */
function fieldExpression(field: string): string {
  if (EVENT_COLUMN_NAMES.has(field) || /^[\w.@]+$/.test(field)) return quoteIdent(field);
  return quoteColumns(field);
}

const TOKEN = /'(?:[^']|'')*'|"(?:[^"]|"")*"|[A-Za-z_@][\w.@]*/g;

/**
 * Quotes each bare dotted ECS name that is a column of `events` (`process.name` →
 * `"process.name"`), leaving string literals, quoted identifiers and everything else alone. A
 * dotted name that is not a column stays as written (DuckDB reads it as table.column or a struct).
 */
export function quoteColumns(condition: string): string {
  return condition.replace(TOKEN, (token) =>
    token.startsWith("'") || token.startsWith('"') || !EVENT_COLUMN_NAMES.has(token)
      ? token
      : quoteIdent(token),
  );
}

/** One JSON object per row, keyed by column name (later duplicates of a name win, as in JSON). */
export function formatNdjson(result: QueryResult): string {
  return result.rows
    .map((row) => {
      const object: Record<string, unknown> = Object.create(null) as Record<string, unknown>;
      result.columns.forEach((name, i) => (object[name] = row[i] ?? null));
      return JSON.stringify(object) + "\n";
    })
    .join("");
}

/** Terminal columns a cell may take. */
const MAX_CELL = 80;

/**
 * Columns padded to their widest cell (cut at 80 terminal columns), numbers right-aligned. Widths
 * are display widths: a CJK character or an emoji takes two columns, a combining mark none.
 */
export function formatTable(result: QueryResult): string {
  const cells = result.rows.map((row) => result.columns.map((_, i) => cell(row[i])));
  const widths = result.columns.map((name, i) =>
    Math.max(width(name), ...cells.map((row) => width(row[i] ?? ""))),
  );
  const numeric = result.columns.map(
    (_, i) =>
      result.rows.length > 0 && result.rows.every((row) => row[i] === null || typeof row[i] === "number"),
  );
  const line = (values: readonly string[]): string =>
    values
      .map((v, i) => {
        const pad = " ".repeat(Math.max(0, (widths[i] ?? 0) - width(v)));
        return numeric[i] === true ? pad + v : v + pad;
      })
      .join("  ")
      .trimEnd() + "\n";
  const rule = widths.map((w) => "-".repeat(w));
  const count = `(${result.rows.length} row${result.rows.length === 1 ? "" : "s"}${result.truncated === true ? ", truncated" : ""})\n`;
  return line(result.columns) + line(rule) + cells.map(line).join("") + count;
}

function cell(value: unknown): string {
  const text =
    value === null || value === undefined ? "" : typeof value === "string" ? value : JSON.stringify(value);
  // One line per row: control characters (newlines, tabs, escapes) are shown, not obeyed.
  // eslint-disable-next-line no-control-regex
  const flat = text.replace(/[\u0000-\u001f\u007f]/g, (c) => JSON.stringify(c).slice(1, -1));
  if (width(flat) <= MAX_CELL) return flat;
  // Cut between grapheme clusters (an emoji with its modifiers is one), leaving a column for "…".
  let cut = "";
  let used = 0;
  for (const { segment } of graphemes.segment(flat)) {
    const w = width(segment);
    if (used + w > MAX_CELL - 1) break;
    cut += segment;
    used += w;
  }
  return cut + "…";
}

const graphemes = new Intl.Segmenter(undefined, { granularity: "grapheme" });

/** Terminal columns the text takes (East Asian wide characters and emoji count two). */
function width(text: string): number {
  return stringWidth(text);
}

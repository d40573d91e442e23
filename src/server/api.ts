/**
 * @module server/api
 * The `/api/*` routes over a store, as a fastify plugin; the server registers it inside a scope
 * that checks the query token (not the ingest token), so nothing here checks credentials.
 * - `POST /api/query` `{"sql": "..."}` → `{"columns", "types", "rows", "truncated"}`; 400 with a
 *   JSON error for refused or invalid SQL, or a statement past the time limit. A statement whose
 *   client hangs up is cancelled.
 * - `POST /api/replay` → `{"replayed", "still_failing", "failing_by_code"}`.
 * - `POST /api/export` `{"format": "ndjson"|"parquet", "since"?: ISO-8601}` → the events, streamed;
 *   at most `maxExports` at a time (then 503 + Retry-After); a client that stops reading is cut
 *   off after `exportIdleMs`.
 */
import type { FastifyPluginAsync, FastifyReply } from "fastify";
import { isSqlError, StoreError } from "../store/errors.ts";
import type { EventStore, ExportFormat, ExportStream } from "../store/store.ts";

export interface ApiRoutesOptions {
  /** Cap on the SQL text, in bytes (64 KiB). */
  readonly maxSqlBytes?: number;
  /** Row cap of `/api/query` (the store's default when absent). */
  readonly maxRows?: number;
  /** Time limit of one `/api/query` statement, in ms (the store's default, 30 s, when absent). */
  readonly queryTimeoutMs?: number;
  /** Exports sent at the same time (2); one more is answered 503 with Retry-After. */
  readonly maxExports?: number;
  /** An export whose client has read nothing for this long is closed, in ms (60 s). */
  readonly exportIdleMs?: number;
}

export const DEFAULT_MAX_EXPORTS = 2;
const DEFAULT_EXPORT_IDLE_MS = 60_000;
/** Seconds a client is told to wait when every export slot is taken. */
const EXPORT_RETRY_AFTER = "10";

const EXPORT_FORMATS: ReadonlySet<string> = new Set<ExportFormat>(["ndjson", "parquet"]);

function field(body: unknown, name: string): unknown {
  if (body === null || typeof body !== "object" || Array.isArray(body)) return undefined;
  return Object.prototype.hasOwnProperty.call(body, name)
    ? (body as Record<string, unknown>)[name]
    : undefined;
}

/** The same error body as `/ingest` answers: `{"error": {"code", "message"}}`. */
function fail(reply: FastifyReply, status: number, code: string, message: string): FastifyReply {
  return reply.code(status).type("application/json").send({ error: { code, message } });
}

/** Aborts once the client hangs up before its answer was sent. */
function clientGone(reply: FastifyReply): AbortController {
  const controller = new AbortController();
  reply.raw.once("close", () => {
    if (!reply.raw.writableFinished) controller.abort();
  });
  return controller;
}

export function apiRoutes(store: EventStore, options: ApiRoutesOptions = {}): FastifyPluginAsync {
  const maxSqlBytes = options.maxSqlBytes ?? 64 * 1024;
  const maxExports = options.maxExports ?? DEFAULT_MAX_EXPORTS;
  const exportIdleMs = options.exportIdleMs ?? DEFAULT_EXPORT_IDLE_MS;
  let exporting = 0;
  return async (app) => {
    app.post("/api/query", async (request, reply) => {
      const sql = field(request.body, "sql");
      if (typeof sql !== "string" || sql.trim() === "") {
        return fail(reply, 400, "ERR_BAD_REQUEST", 'Expected a JSON body {"sql": "<one SELECT statement>"}.');
      }
      if (Buffer.byteLength(sql) > maxSqlBytes) {
        return fail(reply, 400, "ERR_BAD_REQUEST", `The SQL text is over ${maxSqlBytes} bytes.`);
      }
      const gone = clientGone(reply);
      try {
        const result = await store.query(sql, {
          ...(options.maxRows === undefined ? {} : { maxRows: options.maxRows }),
          ...(options.queryTimeoutMs === undefined ? {} : { timeoutMs: options.queryTimeoutMs }),
          signal: gone.signal,
        });
        return reply.send({
          columns: result.columns,
          types: result.types ?? [],
          rows: result.rows,
          truncated: result.truncated ?? false,
        });
      } catch (err) {
        if (isSqlError(err)) return fail(reply, 400, err.code, err.message);
        // Nobody is left to read it; fastify drops the answer of a closed request.
        if (err instanceof StoreError && err.code === "ERR_QUERY_CANCELLED") {
          return fail(reply, 499, err.code, err.message);
        }
        throw err;
      }
    });

    app.post("/api/replay", async (_request, reply) => {
      if (store.replay === undefined)
        return fail(reply, 501, "ERR_NOT_SUPPORTED", `${store.name} cannot replay.`);
      const result = await store.replay();
      return reply.send({
        replayed: result.replayed,
        still_failing: result.stillFailing,
        failing_by_code: result.failingByCode,
      });
    });

    app.post("/api/export", async (request, reply) => {
      if (store.exportEvents === undefined) {
        return fail(reply, 501, "ERR_NOT_SUPPORTED", `${store.name} cannot export.`);
      }
      const format = field(request.body, "format") ?? "ndjson";
      const since = field(request.body, "since");
      if (typeof format !== "string" || !EXPORT_FORMATS.has(format)) {
        return fail(reply, 400, "ERR_BAD_REQUEST", 'format must be "ndjson" or "parquet".');
      }
      if (since !== undefined && (typeof since !== "string" || !Number.isFinite(Date.parse(since)))) {
        return fail(reply, 400, "ERR_BAD_REQUEST", "since must be an ISO-8601 instant.");
      }
      if (exporting >= maxExports) {
        reply.header("retry-after", EXPORT_RETRY_AFTER);
        return fail(
          reply,
          503,
          "ERR_EXPORT_BUSY",
          `${maxExports} export${maxExports === 1 ? " is" : "s are"} being sent already; try again later.`,
        );
      }
      // The slot is held until the answer is sent or its client went away.
      exporting++;
      reply.raw.once("close", () => exporting--);
      const gone = clientGone(reply);
      let exported: ExportStream;
      try {
        exported = await store.exportEvents({
          format: format as ExportFormat,
          ...(since === undefined ? {} : { since: since as string }),
          signal: gone.signal,
        });
      } catch (err) {
        if (err instanceof StoreError) {
          return fail(reply, err.code === "ERR_QUERY_CANCELLED" ? 499 : 400, err.code, err.message);
        }
        throw err;
      }
      const { body } = exported;
      if (gone.signal.aborted) {
        body.destroy();
        return reply;
      }
      reply.raw.once("close", () => body.destroy());
      // A client that stops reading fills the socket's buffers; then nothing moves on the socket.
      reply.raw.setTimeout(exportIdleMs, () => reply.raw.destroy());
      return reply
        .type(exported.contentType)
        .header("content-disposition", `attachment; filename="events.${exported.format}"`)
        .header("x-export-rows", String(exported.rows))
        .send(body);
    });
  };
}

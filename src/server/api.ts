/**
 * @module server/api
 * The `/api/*` routes over a store, as a fastify plugin; the server registers it inside its
 * authenticated scope (same auth as `/ingest`), so nothing here checks credentials.
 * - `POST /api/query` `{"sql": "..."}` → `{"columns", "types", "rows", "truncated"}`; 400 with a
 *   JSON error for refused or invalid SQL.
 * - `POST /api/replay` → `{"replayed", "still_failing", "failing_by_code"}`.
 * - `POST /api/export` `{"format": "ndjson"|"parquet", "since"?: ISO-8601}` → the file's bytes.
 */
import { createReadStream } from "node:fs";
import type { FastifyPluginAsync, FastifyReply } from "fastify";
import { isSqlError, StoreError } from "../store/errors.ts";
import type { EventStore, ExportFormat } from "../store/store.ts";

export interface ApiRoutesOptions {
  /** Cap on the SQL text, in bytes (64 KiB). */
  readonly maxSqlBytes?: number;
  /** Row cap of `/api/query` (the store's default when absent). */
  readonly maxRows?: number;
}

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

export function apiRoutes(store: EventStore, options: ApiRoutesOptions = {}): FastifyPluginAsync {
  const maxSqlBytes = options.maxSqlBytes ?? 64 * 1024;
  return async (app) => {
    app.post("/api/query", async (request, reply) => {
      const sql = field(request.body, "sql");
      if (typeof sql !== "string" || sql.trim() === "") {
        return fail(reply, 400, "ERR_BAD_REQUEST", 'Expected a JSON body {"sql": "<one SELECT statement>"}.');
      }
      if (Buffer.byteLength(sql) > maxSqlBytes) {
        return fail(reply, 400, "ERR_BAD_REQUEST", `The SQL text is over ${maxSqlBytes} bytes.`);
      }
      try {
        const result = await store.query(
          sql,
          options.maxRows === undefined ? {} : { maxRows: options.maxRows },
        );
        return reply.send({
          columns: result.columns,
          types: result.types ?? [],
          rows: result.rows,
          truncated: result.truncated ?? false,
        });
      } catch (err) {
        if (isSqlError(err)) return fail(reply, 400, err.code, err.message);
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
      if (store.exportFile === undefined) {
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
      let file;
      try {
        file = await store.exportFile({
          format: format as ExportFormat,
          ...(since === undefined ? {} : { since: since as string }),
        });
      } catch (err) {
        if (err instanceof StoreError) return fail(reply, 400, err.code, err.message);
        throw err;
      }
      const exported = file;
      // The temporary file goes once the answer is sent, or the client went away.
      reply.raw.once("close", () => void exported.dispose());
      return reply
        .type(exported.contentType)
        .header("content-disposition", `attachment; filename="events.${exported.format}"`)
        .header("x-export-rows", String(exported.rows))
        .send(createReadStream(exported.path));
    });
  };
}

/**
 * @module server/inputs/http
 * The HTTP input (fastify), for Tanium Connect HTTP destinations and scripts:
 * - `POST /ingest`: `application/json` (one array of events or one event), `application/x-ndjson`
 *   or `text/plain` (one event per line); `Content-Encoding: gzip` or `deflate`, decompressed as a
 *   stream with the body cap applied to the decompressed bytes (a gzip bomb costs at most the cap).
 *   `200 {"accepted", "dead_letters"}` only once the batch is committed; 401, 413, 415, 503
 *   (+ Retry-After) with `{"error": {"code", "message"}}`.
 * - `GET /healthz` (no auth), `GET /metrics` (Prometheus text, no auth: it holds counts, no data).
 * - The store's `/api/*` routes (`server/api.ts`), behind the query token (`/ingest` takes the
 *   ingest token: a sender cannot read, a reader cannot send, unless one token serves both).
 */
import type { AddressInfo } from "node:net";
import type { Readable } from "node:stream";
import { createGunzip, createInflate } from "node:zlib";
import fastify, { type FastifyInstance, type FastifyReply } from "fastify";
import { JsonBodyFramer, LineFramer, type Frame, type Framer } from "../../framing/index.ts";
import type { EventStore } from "../../store/store.ts";
import { apiRoutes, type ApiRoutesOptions } from "../api.ts";
import { createAuth } from "../auth.ts";
import { formatAddress } from "../config.ts";
import { prepare } from "../prepare.ts";
import type { Input, InputFactory, ListenOptions, TlsFiles } from "./input.ts";

export interface HttpInputOptions extends ListenOptions {
  readonly store: EventStore;
  /** The ingest token (`/ingest`). */
  readonly token: string | undefined;
  /** The query token (`/api/*`). */
  readonly queryToken: string | undefined;
  readonly tokenHeader: string | undefined;
  /** Limits of the `/api/*` routes. */
  readonly api?: ApiRoutesOptions;
  readonly tls: TlsFiles | undefined;
  /** Cap on a request body, after decompression. */
  readonly maxBodyBytes: number;
  /** Seconds a client is told to wait after a 503. */
  readonly retryAfterSeconds?: number;
  /** True once shutdown began: /healthz then answers 503. */
  readonly draining: () => boolean;
}

const JSON_TYPES = new Set(["application/json"]);
const LINE_TYPES = new Set(["application/x-ndjson", "application/ndjson", "text/plain"]);
const ENCODINGS = new Set(["identity", "gzip", "x-gzip", "deflate"]);

/** A request refused with a status and a stable code. */
class HttpFailure extends Error {
  readonly status: number;
  readonly code: string;
  constructor(status: number, code: string, message: string) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

function errorBody(code: string, message: string): { error: { code: string; message: string } } {
  return { error: { code, message } };
}

export const http: InputFactory<HttpInputOptions> = async (options, context) => {
  const { intake, metrics, logger } = context;
  const { store, maxBodyBytes, maxLineBytes } = options;
  const retryAfter = String(options.retryAfterSeconds ?? 1);
  const authorized = createAuth({ token: options.token, tokenHeader: options.tokenHeader });
  const mayQuery = createAuth({ token: options.queryToken, tokenHeader: options.tokenHeader });

  const settings = {
    logger: false,
    // The /api routes' JSON bodies; /ingest reads its body itself, with its own cap.
    bodyLimit: 1024 * 1024,
    return503OnClosing: true,
    forceCloseConnections: "idle" as const,
  };
  // fastify's types tell the HTTPS instance apart; the routes do not care which it is.
  const app = (options.tls === undefined
    ? fastify(settings)
    : fastify({
        ...settings,
        https: { cert: options.tls.cert, key: options.tls.key },
      })) as unknown as FastifyInstance;

  const fail = (reply: FastifyReply, failure: HttpFailure): FastifyReply => {
    metrics.httpRejected.inc({ status: String(failure.status) });
    if (failure.status === 503) reply.header("retry-after", retryAfter);
    return reply.code(failure.status).type("application/json").send(errorBody(failure.code, failure.message));
  };

  app.setErrorHandler((err: { statusCode?: number; code?: string; message?: string }, _request, reply) => {
    const status = typeof err.statusCode === "number" && err.statusCode >= 400 ? err.statusCode : 500;
    if (status >= 500) logger.error({ err }, "request failed");
    return reply
      .code(status)
      .type("application/json")
      .send(errorBody(err.code ?? "ERR_INTERNAL", err.message ?? "Internal error."));
  });
  app.setNotFoundHandler((request, reply) =>
    reply
      .code(404)
      .type("application/json")
      .send(errorBody("ERR_NOT_FOUND", `No route ${request.method} ${request.url}.`)),
  );

  let closing = false;
  // A keep-alive connection that was busy when closing began would otherwise hold `close()` for
  // the keep-alive timeout: its last answer tells the client to hang up.
  app.addHook("onSend", async (_request, reply) => {
    if (closing) reply.header("connection", "close");
  });

  app.get("/healthz", async (_request, reply) => {
    if (options.draining()) {
      return reply.code(503).send({ status: "draining", queue_depth: intake.depth });
    }
    try {
      await store.query("SELECT 1 AS ok", { maxRows: 1 });
    } catch (err) {
      return reply.code(503).send({
        status: "store_unavailable",
        store: { name: store.name, ok: false, error: err instanceof Error ? err.message : String(err) },
      });
    }
    return reply.send({ status: "ok", store: { name: store.name, ok: true }, queue_depth: intake.depth });
  });

  app.get("/metrics", async (_request, reply) =>
    reply.type(metrics.registry.contentType).send(await metrics.registry.metrics()),
  );

  const unauthorized = (reply: FastifyReply, which: string): FastifyReply => {
    reply.header("www-authenticate", 'Bearer realm="tanium-ecs"');
    return fail(
      reply,
      new HttpFailure(
        401,
        "ERR_UNAUTHORIZED",
        options.tokenHeader === undefined
          ? `Missing or wrong ${which} token: send Authorization: Bearer <token>.`
          : `Missing or wrong ${which} token: send Authorization: Bearer <token> or the ${options.tokenHeader} header.`,
      ),
    );
  };

  await app.register(async (api) => {
    api.addHook("onRequest", async (request, reply) => {
      if (!mayQuery(request.headers)) return unauthorized(reply, "query");
    });
    await api.register(apiRoutes(store, options.api));
  });

  await app.register(async (authed) => {
    authed.addHook("onRequest", async (request, reply) => {
      if (!authorized(request.headers)) return unauthorized(reply, "ingest");
    });

    await authed.register(async (ingest) => {
      // The body is read here as a stream, to decompress it and cap it as it comes.
      ingest.removeAllContentTypeParsers();
      ingest.addContentTypeParser("*", (_request, payload, done) => done(null, payload));

      ingest.post("/ingest", async (request, reply) => {
        try {
          const type = mediaType(request.headers["content-type"]);
          const json = JSON_TYPES.has(type);
          if (!json && !LINE_TYPES.has(type)) {
            throw new HttpFailure(
              415,
              "ERR_UNSUPPORTED_MEDIA_TYPE",
              `Content-Type ${type === "" ? "(none)" : type} is not accepted: send application/json, application/x-ndjson or text/plain.`,
            );
          }
          const encoding = (request.headers["content-encoding"] ?? "identity").trim().toLowerCase();
          if (!ENCODINGS.has(encoding)) {
            throw new HttpFailure(
              415,
              "ERR_UNSUPPORTED_ENCODING",
              `Content-Encoding ${encoding} is not accepted: send gzip, deflate or none.`,
            );
          }
          if (intake.full) {
            throw new HttpFailure(503, "ERR_QUEUE_FULL", "The store is not keeping up; retry later.");
          }
          const declared = Number(request.headers["content-length"]);
          if (encoding === "identity" && Number.isFinite(declared) && declared > maxBodyBytes) {
            throw tooLarge(maxBodyBytes);
          }
          const receivedAt = new Date().toISOString();
          const framer: Framer = json
            ? new JsonBodyFramer({ maxBytes: maxLineBytes })
            : new LineFramer({ maxBytes: maxLineBytes });
          const frames = await readFrames(request.raw, encoding, framer, maxBodyBytes);
          metrics.received.inc({ input: "http" }, frames.length);
          const submission = prepare(frames, { input: "http", receivedAt, maxLineBytes });
          // Checked again: many bodies may have been read while the queue filled.
          if (intake.full) {
            throw new HttpFailure(503, "ERR_QUEUE_FULL", "The store is not keeping up; retry later.");
          }
          let committed;
          try {
            committed = await intake.submit(submission);
          } catch (err) {
            logger.error({ err, input: "http" }, "store write failed");
            throw new HttpFailure(
              503,
              "ERR_STORE_WRITE",
              `The batch could not be stored (${err instanceof Error ? err.message : String(err)}); nothing was acknowledged, retry later.`,
            );
          }
          return reply.send({ accepted: committed.accepted, dead_letters: committed.deadLetters });
        } catch (err) {
          if (!(err instanceof HttpFailure)) throw err;
          // The rest of a refused body may be unread: closing is cheaper than draining it.
          reply.header("connection", "close");
          return fail(reply, err);
        }
      });
    });
  });

  await app.listen({ host: options.listen.host, port: options.listen.port });
  const bound = app.server.address() as AddressInfo;
  const address = formatAddress({ host: options.listen.host, port: bound.port });
  const input: Input = {
    name: "http",
    address,
    port: bound.port,
    // Stops accepting; requests in flight still get their answer (they wait for their commit).
    close: () => {
      closing = true;
      return app.close();
    },
  };
  return input;
};

function tooLarge(maxBodyBytes: number): HttpFailure {
  return new HttpFailure(
    413,
    "ERR_BODY_TOO_LARGE",
    `The body is over the ${maxBodyBytes} byte limit (after decompression); send smaller batches.`,
  );
}

/** `type/subtype`, lower case, parameters dropped. */
function mediaType(header: string | undefined): string {
  return (header ?? "").split(";", 1)[0]!.trim().toLowerCase();
}

/** Reads, decompresses and frames the body, failing with 413 once it is over the cap. */
async function readFrames(
  body: Readable,
  encoding: string,
  framer: Framer,
  maxBodyBytes: number,
): Promise<Frame[]> {
  let stream: Readable = body;
  if (encoding === "gzip" || encoding === "x-gzip") stream = body.pipe(createGunzip());
  else if (encoding === "deflate") stream = body.pipe(createInflate());
  const frames: Frame[] = [];
  let total = 0;
  try {
    for await (const chunk of stream as AsyncIterable<Buffer>) {
      total += chunk.length;
      if (total > maxBodyBytes) throw tooLarge(maxBodyBytes);
      framer.push(chunk, frames);
    }
  } catch (err) {
    if (err instanceof HttpFailure) throw err;
    const code = (err as { code?: unknown }).code;
    if (typeof code === "string" && code.startsWith("Z_")) {
      throw new HttpFailure(
        400,
        "ERR_BAD_ENCODING",
        `The body is not valid ${encoding}: ${(err as Error).message}`,
      );
    }
    throw err;
  } finally {
    if (stream !== body) stream.destroy();
  }
  framer.end(frames);
  return frames;
}

/**
 * @module server/inputs/http
 * The HTTP input (fastify), for Tanium Connect HTTP destinations and scripts:
 * - `POST /ingest`: `application/json` (one array of events, one event, or JSON lines),
 *   `application/x-ndjson` or `text/plain` (one event per line); `Content-Encoding: gzip` or
 *   `deflate`, decompressed as a stream with the body cap applied to the decompressed bytes.
 *   The body is framed as it arrives and handed to the queue in bounded slices (the event loop
 *   yields between them, and a slice waits while the queue is full), so no body, however large or
 *   however well it compresses, holds more than a slice or blocks the loop.
 *   `200 {"accepted", "dead_letters"}` only once every slice is committed; 400, 401, 408, 413,
 *   415, 500, 503 (+ Retry-After) with `{"error": {"code", "message"}}`.
 * - `GET /healthz` (no auth: no paths, no data), `GET /metrics` (Prometheus text, no auth: it
 *   holds counts, no data).
 * - The store's `/api/*` routes (`server/api.ts`), behind the query token (`/ingest` takes the
 *   ingest token: a sender cannot read, a reader cannot send, unless one token serves both).
 */
import type { AddressInfo } from "node:net";
import type { Readable } from "node:stream";
import { setImmediate as yieldToLoop } from "node:timers/promises";
import { createGunzip, createInflate } from "node:zlib";
import fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from "fastify";
import { JsonBodyFramer, LineFramer, type Frame, type Framer } from "../../framing/index.ts";
import type { EventStore } from "../../store/store.ts";
import { apiRoutes, type ApiRoutesOptions } from "../api.ts";
import { createAuth } from "../auth.ts";
import { formatAddress } from "../config.ts";
import type { Committed } from "../batcher.ts";
import type { StoreHealth } from "../health.ts";
import type { Input, InputFactory, ListenOptions, TlsFiles } from "./input.ts";
import { Semaphore } from "../../pipeline/semaphore.ts";

export interface HttpInputOptions extends ListenOptions {
  /** The store a sink lends for `/api/*`; none: those routes answer 404. */
  readonly store: EventStore | undefined;
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
  /** What /healthz says of the store. */
  readonly health: Pick<StoreHealth, "trouble">;
  /**
   * Why a sink that is `full` holds intake back, for /healthz and the 503 (default: its disk
   * buffer is full); a receiver's publisher is full when its stream is.
   */
  readonly fullReason?: (sink: string) => string;
  /** True once shutdown began: /healthz then answers 503. */
  readonly draining: () => boolean;
  /** A body not received within this long is answered 408 (default 60 s). */
  readonly bodyTimeoutMs?: number;
  /** Request headers not received within this long close the connection (default 10 s). */
  readonly headerTimeoutMs?: number;
  /** `close()` waits this long for requests in flight, then answers them 503 and closes (default 10 s). */
  readonly drainTimeoutMs?: number;
}

/**
 * A slice of a body is queued (and the event loop yields) once it holds this many distinct
 * normalized texts, frames, or bytes of held text, whichever comes first. 512 recorder events
 * normalize in about 10 ms here, so /healthz waits at most that long behind a body; a repeat
 * costs a map lookup only, so a flood of one junk line goes in slices of 16,384 frames (one row).
 */
export const SLICE_NORMALIZED = 512;
/**
 * Bodies framed and normalized at once; the others wait with their sockets paused. The work is
 * CPU-bound on one thread, so more would not go faster: it would only keep more chunks' frames
 * alive across the yields (measured: the old generation grew past 250 MB with 18 bodies at once).
 */
const PROCESSING = 2;
export const SLICE_FRAMES = 16_384;
export const SLICE_BYTES = 512 * 1024;

const JSON_TYPES = new Set(["application/json"]);
const LINE_TYPES = new Set(["application/x-ndjson", "application/ndjson", "text/plain"]);
const ENCODINGS = new Set(["identity", "gzip", "x-gzip", "deflate"]);
const QUEUE_FULL = "The store is not keeping up; retry later.";
const BUFFER_FULL = (sink: string): string =>
  `The disk buffer of sink ${sink} is full: its destination is not keeping up.`;

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
  const fullReason = options.fullReason ?? BUFFER_FULL;
  /** The 503 of a full intake: the sink that holds it back, when one does. */
  const queueFull = (): HttpFailure => {
    const sink = intake.fullSink;
    return new HttpFailure(
      503,
      "ERR_QUEUE_FULL",
      sink === undefined ? QUEUE_FULL : `${fullReason(sink)} Retry later.`,
    );
  };
  const authorized = createAuth({ token: options.token, tokenHeader: options.tokenHeader });
  const mayQuery = createAuth({ token: options.queryToken, tokenHeader: options.tokenHeader });

  const bodyTimeoutMs = options.bodyTimeoutMs ?? 60_000;
  const headerTimeoutMs = options.headerTimeoutMs ?? 10_000;
  const drainTimeoutMs = options.drainTimeoutMs ?? 10_000;
  // Node's own limits, checked every `connectionsCheckingInterval`: headers (slowloris), and the
  // whole request as a backstop behind the body timer below (which answers with a JSON 408).
  const requestTimeout = headerTimeoutMs + bodyTimeoutMs + 5_000;
  const serverTimeouts = {
    headersTimeout: headerTimeoutMs,
    requestTimeout,
    connectionsCheckingInterval: Math.min(1_000, headerTimeoutMs),
  };
  const settings = {
    logger: false,
    // The /api routes' JSON bodies; /ingest reads its body itself, with its own cap.
    bodyLimit: 1024 * 1024,
    return503OnClosing: true,
    forceCloseConnections: "idle" as const,
    requestTimeout,
    http: serverTimeouts,
  };
  // fastify's types tell the HTTPS instance apart; the routes do not care which it is.
  const app = (options.tls === undefined
    ? fastify(settings)
    : fastify({
        ...settings,
        https: { cert: options.tls.cert, key: options.tls.key, ...serverTimeouts },
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

  // The truth, at once: what the intake and the store's health already know (`server/health.ts`),
  // no I/O. No file system path and no store message (they may name files): the log has those.
  app.get("/healthz", async (_request, reply) => {
    const queue = { depth: intake.depth, bytes: intake.depthBytes, full: intake.full };
    if (options.draining()) {
      return reply.code(503).send({ status: "draining", reason: "The server is stopping.", queue });
    }
    const trouble = options.health.trouble();
    if (trouble !== undefined) {
      const { status, reason } = trouble;
      const since = "since" in trouble ? { since: new Date(trouble.since).toISOString() } : {};
      if (trouble.status === "sink_failing") {
        const sink = { name: trouble.sink, ok: false, ...since };
        return reply.code(503).send({ status, reason, ...since, sink, queue });
      }
      const store = "code" in trouble ? { ok: false, code: trouble.code } : { ok: false };
      return reply.code(503).send({ status, reason, ...since, store, queue });
    }
    const fullSink = intake.fullSink;
    if (fullSink !== undefined) {
      const reason = fullReason(fullSink);
      return reply
        .code(503)
        .send({ status: "sink_buffer_full", reason, sink: { name: fullSink, ok: false }, queue });
    }
    if (queue.full) {
      return reply.code(503).send({ status: "queue_full", reason: QUEUE_FULL, queue });
    }
    return reply.send({ status: "ok", store: { ok: true }, queue, queue_depth: intake.depth });
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
    if (store !== undefined) await api.register(apiRoutes(store, options.api));
    else {
      // No sink lends a store to read: say so rather than a bare 404.
      api.all("/api/*", async (_request, reply) =>
        fail(
          reply,
          new HttpFailure(
            404,
            "ERR_NO_QUERYABLE_SINK",
            "No configured sink can be queried (/api/* needs a duckdb sink): query the destination itself.",
          ),
        ),
      );
    }
  });

  /** Bodies being read: what each reserved of the queue's byte cap, and how to stop it. */
  const reading = new Map<FastifyRequest, { bytes: number; abort: AbortController }>();
  let reservedBytes = 0;
  const processing = new Semaphore(PROCESSING);

  const ingestBody = async (request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply> => {
    const abort = new AbortController();
    let reservation = 0;
    let timer: NodeJS.Timeout | undefined;
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
      if (intake.full) throw queueFull();
      const declared = Number(request.headers["content-length"]);
      const known = encoding === "identity" && Number.isSafeInteger(declared) && declared >= 0;
      if (known && declared > maxBodyBytes) throw tooLarge(maxBodyBytes);
      // Admission: the bodies being read may together become at most the queue's byte cap (a
      // compressed or chunked body may become the whole body cap); one body is always let in.
      const expected = known ? declared : maxBodyBytes;
      if (reading.size > 0 && reservedBytes + expected > intake.maxBytes) {
        throw new HttpFailure(503, "ERR_BUSY", "Too many bodies are being received at once; retry later.");
      }
      reservation = expected;
      reservedBytes += reservation;
      reading.set(request, { bytes: reservation, abort });
      timer = setTimeout(
        () =>
          abort.abort(
            new HttpFailure(
              408,
              "ERR_BODY_TIMEOUT",
              `The body did not arrive within ${bodyTimeoutMs / 1000} s; send it faster or in smaller batches.`,
            ),
          ),
        bodyTimeoutMs,
      );

      const receivedAt = new Date().toISOString();
      const framer: Framer = json
        ? new JsonBodyFramer({ maxBytes: maxLineBytes })
        : new LineFramer({ maxBytes: maxLineBytes });
      let accepted = 0;
      let deadLetters = 0;
      let failed: unknown;
      const commits: Promise<void>[] = [];
      const frames: Frame[] = [];
      const builder = context.collector({
        input: "http",
        receivedAt,
        maxLineBytes,
        original: context.original,
        hosts: context.hosts,
      });
      /** Queues what the builder holds as one slice, once there is room. */
      const submitSlice = async (): Promise<void> => {
        const submission = builder.take();
        metrics.received.inc({ input: "http" }, submission.frames);
        if (intake.full) {
          // Nothing queued yet: refuse now, the sender keeps the whole body. Otherwise wait for
          // room (TCP back-pressure on the sender) until the body timer runs out.
          if (commits.length === 0) throw queueFull();
          await intake.room(abort.signal);
        }
        commits.push(
          intake.submit(submission).then(
            (committed: Committed) => {
              accepted += committed.accepted;
              deadLetters += committed.deadLetters;
            },
            (err: unknown) => {
              failed ??= err;
            },
          ),
        );
        // Let /healthz, other bodies and the commits run between slices.
        await yieldToLoop();
      };
      const addFrames = async (): Promise<void> => {
        for (const frame of frames) {
          builder.add(frame);
          if (
            builder.normalized >= SLICE_NORMALIZED ||
            builder.frames >= SLICE_FRAMES ||
            builder.bytes >= SLICE_BYTES
          ) {
            await submitSlice();
            if (failed !== undefined) break;
          }
        }
        frames.length = 0;
      };

      await readBody(request.raw, encoding, maxBodyBytes, abort.signal, async (chunk) => {
        await processing.acquire(abort.signal);
        try {
          framer.push(chunk, frames);
          await addFrames();
        } finally {
          processing.release();
        }
        return failed === undefined;
      });
      if (failed === undefined) {
        await processing.acquire(abort.signal);
        try {
          framer.end(frames);
          await addFrames();
          if (builder.frames > 0 && failed === undefined) await submitSlice();
        } finally {
          processing.release();
        }
      }
      clearTimeout(timer);
      timer = undefined;
      await Promise.all(commits);
      if (failed !== undefined) {
        logger.error({ err: failed, input: "http" }, "store write failed");
        throw new HttpFailure(
          503,
          "ERR_STORE_WRITE",
          "The batch could not be stored; nothing is acknowledged (a part may be stored: a retry stores it once), retry later.",
        );
      }
      return await reply.send({ accepted, dead_letters: deadLetters });
    } catch (err) {
      const failure =
        err instanceof HttpFailure ? err : abort.signal.aborted ? abort.signal.reason : undefined;
      if (!(failure instanceof HttpFailure)) throw err;
      // The rest of a refused body may be unread: closing is cheaper than draining it.
      reply.header("connection", "close");
      return fail(reply, failure);
    } finally {
      clearTimeout(timer);
      if (reading.get(request)?.abort === abort) {
        reading.delete(request);
        reservedBytes -= reservation;
      }
    }
  };

  await app.register(async (authed) => {
    authed.addHook("onRequest", async (request, reply) => {
      if (!authorized(request.headers)) return unauthorized(reply, "ingest");
    });

    await authed.register(async (ingest) => {
      // The body is read here as a stream, to decompress it and cap it as it comes.
      ingest.removeAllContentTypeParsers();
      ingest.addContentTypeParser("*", (_request, payload, done) => done(null, payload));

      ingest.post("/ingest", (request, reply) => ingestBody(request, reply));
    });
  });

  await app.listen({ host: options.listen.host, port: options.listen.port });
  const bound = app.server.address() as AddressInfo;
  const address = formatAddress({ host: options.listen.host, port: bound.port });
  const input: Input = {
    name: "http",
    address,
    port: bound.port,
    // Stops accepting; requests in flight still get their answer (they wait for their commit),
    // for `drainTimeoutMs`: then bodies still arriving are answered 503 (what they had queued is
    // still committed by the intake's drain) and every connection left is closed.
    close: async () => {
      closing = true;
      const closed = app.close();
      let force: NodeJS.Timeout | undefined;
      const deadline = setTimeout(() => {
        logger.warn({ input: "http", requests: reading.size }, "drain deadline: closing slow requests");
        for (const { abort } of reading.values()) {
          abort.abort(new HttpFailure(503, "ERR_SHUTTING_DOWN", "The server is stopping; retry later."));
        }
        // Their answers get a moment to leave; then what is left (slow headers, unread bodies) goes.
        force = setTimeout(() => app.server.closeAllConnections(), 1_000);
      }, drainTimeoutMs);
      try {
        await closed;
      } finally {
        clearTimeout(deadline);
        clearTimeout(force);
      }
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

/**
 * Reads and decompresses the body chunk by chunk, each handed to `onChunk` (which returns false
 * to stop), failing with 413 once it is over the cap, 400 on bad compression, and with the
 * signal's reason when it aborts (body timeout, shutdown). The request stream is never destroyed
 * (that would cut the connection before the answer): the answer closes it.
 */
async function readBody(
  body: Readable,
  encoding: string,
  maxBodyBytes: number,
  signal: AbortSignal,
  onChunk: (chunk: Buffer) => Promise<boolean>,
): Promise<void> {
  const inflate =
    encoding === "gzip" || encoding === "x-gzip"
      ? createGunzip()
      : encoding === "deflate"
        ? createInflate()
        : undefined;
  const stream: Readable = inflate === undefined ? body : body.pipe(inflate);
  const iterator = (stream as AsyncIterable<Buffer>)[Symbol.asyncIterator]();
  // One abort listener per read, removed when the read settles: a race against one long-lived
  // promise would keep every chunk read (each race's result) alive until the body ends.
  const read = (): Promise<IteratorResult<Buffer>> =>
    new Promise((resolve, reject) => {
      if (signal.aborted) {
        reject(signal.reason as Error);
        return;
      }
      const onAbort = (): void => reject(signal.reason as Error);
      signal.addEventListener("abort", onAbort, { once: true });
      iterator.next().then(
        (result) => {
          signal.removeEventListener("abort", onAbort);
          resolve(result);
        },
        (err: unknown) => {
          signal.removeEventListener("abort", onAbort);
          reject(err as Error);
        },
      );
    });
  let total = 0;
  try {
    for (;;) {
      const next = await read();
      if (next.done === true) break;
      const chunk = next.value;
      total += chunk.length;
      if (total > maxBodyBytes) throw tooLarge(maxBodyBytes);
      if (!(await onChunk(chunk))) break;
    }
  } catch (err) {
    if (err instanceof HttpFailure) throw err;
    const code = (err as { code?: unknown }).code;
    // The sender hung up mid-body: nobody reads the answer, and it is no server fault to log.
    if (code === "ECONNRESET" || code === "ERR_STREAM_PREMATURE_CLOSE") {
      throw new HttpFailure(400, "ERR_CLIENT_ABORTED", "The connection closed before the body ended.");
    }
    if (typeof code === "string" && code.startsWith("Z_")) {
      throw new HttpFailure(
        400,
        "ERR_BAD_ENCODING",
        `The body is not valid ${encoding}: ${(err as Error).message}`,
      );
    }
    throw err;
  } finally {
    if (inflate !== undefined) {
      body.unpipe(inflate);
      inflate.destroy();
    }
    // Unread bytes stay in the socket, which the answer (`connection: close`) ends.
    if (!body.readableEnded) body.pause();
  }
}

/**
 * @module server/inputs/tcp
 * The TCP input (optionally TLS), for Tanium Connect socket destinations and syslog senders. Each
 * connection picks its framing from its first bytes (`framing/octet.ts`: RFC 6587 octet counting
 * or newline-delimited). Syslog headers stay in the line: the decoder strips them.
 *
 * Bounds, per connection: one frame (`maxLineBytes`: an oversize frame is skipped as it arrives
 * and stored as an ERR_LINE_TOO_LONG dead letter), the bytes received and not yet committed
 * (`maxConnectionBytes`: past it the socket is paused until its batches commit), an idle timeout;
 * and `maxConnections` at once (more are closed on arrival and counted). While the queue is full
 * every socket is paused: the senders' TCP windows fill, nothing is dropped. Each read is
 * handled on arrival and never waits for another connection, so a slow or silent client holds
 * only its own partial frame. We never write to TCP clients, so one that stops reading is harmless.
 */
import { createServer as createNetServer, type AddressInfo, type Server, type Socket } from "node:net";
import { createServer as createTlsServer } from "node:tls";
import type { Frame } from "../../framing/index.ts";
import { DetectFramer } from "../../framing/octet.ts";
import { formatAddress } from "../config.ts";
import { prepare } from "../prepare.ts";
import type { Input, InputFactory, IntakeContext, ListenOptions, TlsFiles } from "./input.ts";

export interface TcpInputOptions extends ListenOptions {
  readonly tls: TlsFiles | undefined;
  readonly maxConnections: number;
  readonly maxConnectionBytes: number;
  /** Milliseconds without data after which a connection is closed. */
  readonly idleTimeoutMs: number;
}

export const tcp: InputFactory<TcpInputOptions> = async (options, context) => {
  const { intake, logger, metrics } = context;
  const connections = new Set<Connection>();
  const onSocket = (socket: Socket): void => {
    const connection = new Connection(socket, options, context);
    connections.add(connection);
    socket.once("close", () => connections.delete(connection));
  };
  const server: Server =
    options.tls === undefined
      ? createNetServer(onSocket)
      : createTlsServer({ cert: options.tls.cert, key: options.tls.key }, onSocket);
  // Node closes connections past this count as they arrive and says so with "drop".
  server.maxConnections = options.maxConnections;
  server.on("drop", (data) => {
    metrics.tcpRefused.inc();
    logger.warn(
      { input: "tcp", remote: data === undefined ? undefined : `${data.remoteAddress}:${data.remotePort}` },
      `connection refused: ${options.maxConnections} connections open (--max-connections)`,
    );
  });
  if (options.tls !== undefined) {
    server.on("tlsClientError", (err) => logger.debug({ err, input: "tcp" }, "TLS handshake failed"));
  }
  const unsubscribe = intake.onRoom(() => {
    for (const connection of connections) connection.maybeResume();
  });

  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.listen.port, options.listen.host, () => {
      server.off("error", reject);
      resolve();
    });
  });
  server.on("error", (err) => logger.error({ err, input: "tcp" }, "TCP server error"));
  const bound = server.address() as AddressInfo;

  const input: Input = {
    name: "tcp",
    address: formatAddress({ host: options.listen.host, port: bound.port }),
    port: bound.port,
    async close() {
      unsubscribe();
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      // What each connection holds (a last line without its newline) goes to the queue first.
      for (const connection of connections) connection.finish();
      await closed;
    },
  };
  return input;
};

/** One client connection: framer, counters, pause state. */
class Connection {
  readonly #socket: Socket;
  readonly #options: TcpInputOptions;
  readonly #context: IntakeContext;
  readonly #framer: DetectFramer;
  readonly #input: string;
  /** Bytes handed to the queue and not yet committed. */
  #outstanding = 0;
  #paused = false;
  #finished = false;

  constructor(socket: Socket, options: TcpInputOptions, context: IntakeContext) {
    this.#socket = socket;
    this.#options = options;
    this.#context = context;
    this.#framer = new DetectFramer({ maxBytes: options.maxLineBytes });
    const host = socket.remoteAddress ?? "unknown";
    this.#input = `tcp:${formatAddress({ host, port: socket.remotePort ?? 0 })}`;
    socket.setTimeout(options.idleTimeoutMs);
    socket.on("timeout", () => {
      // A socket we paused is quiet because of us: it is not idle.
      if (this.#paused) return;
      context.logger.info({ input: this.#input }, "idle timeout: connection closed");
      this.finish();
    });
    socket.on("data", (chunk: Buffer) => {
      const frames: Frame[] = [];
      this.#framer.push(chunk, frames);
      this.#submit(frames);
    });
    socket.on("end", () => this.finish());
    socket.on("error", (err) => context.logger.debug({ err, input: this.#input }, "connection error"));
    context.logger.debug({ input: this.#input }, "connection opened");
    if (context.intake.full) this.#pause();
  }

  /** Flushes the framer (a last line without newline) to the queue and closes the socket. */
  finish(): void {
    if (this.#finished) return;
    this.#finished = true;
    const frames: Frame[] = [];
    this.#framer.end(frames);
    this.#submit(frames);
    this.#socket.destroy();
  }

  maybeResume(): void {
    if (!this.#paused || this.#finished) return;
    if (this.#context.intake.full || this.#outstanding > this.#options.maxConnectionBytes) return;
    this.#paused = false;
    this.#socket.resume();
    // The idle clock starts again from now.
    this.#socket.setTimeout(this.#options.idleTimeoutMs);
  }

  #pause(): void {
    if (this.#paused) return;
    this.#paused = true;
    this.#socket.pause();
    this.#context.logger.debug({ input: this.#input }, "back-pressure: connection paused");
  }

  #submit(frames: Frame[]): void {
    if (frames.length === 0) return;
    const { intake, metrics, logger } = this.#context;
    metrics.received.inc({ input: "tcp" }, frames.length);
    const submission = prepare(frames, {
      input: this.#input,
      receivedAt: new Date().toISOString(),
      maxLineBytes: this.#options.maxLineBytes,
      errorCode: "ERR_FRAMING",
    });
    this.#outstanding += submission.bytes;
    intake.submit(submission).then(
      () => {
        this.#outstanding -= submission.bytes;
        this.maybeResume();
      },
      (err: unknown) => {
        this.#outstanding -= submission.bytes;
        // TCP has no acknowledgement to withhold: the loss can only be logged, loudly.
        logger.error(
          {
            err,
            input: this.#input,
            events: submission.docs.length,
            deadLetters: submission.deadLetters.length,
          },
          "store write failed: these events are lost",
        );
        this.maybeResume();
      },
    );
    if (intake.full || this.#outstanding > this.#options.maxConnectionBytes) this.#pause();
  }
}

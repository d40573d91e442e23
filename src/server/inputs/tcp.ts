/**
 * @module server/inputs/tcp
 * The TCP input (optionally TLS, optionally mutual TLS), for Tanium Connect socket destinations and
 * syslog senders. Each connection picks its framing from its first bytes (`framing/octet.ts`:
 * RFC 6587 octet counting or newline-delimited). Syslog headers stay in the line: the decoder
 * strips them.
 *
 * What it promises: a frame it has read is committed, or the server says it was not. TCP has no
 * acknowledgement, so the only lever is reading: the socket is paused (the sender's TCP window
 * fills and its writes back up) while the queue is full, while the connection has more than
 * `maxConnectionBytes` uncommitted, and while a store write of its frames is failing; a failed
 * write is retried with capped exponential backoff and full jitter until it commits. On stop,
 * each open connection is read until it falls quiet or half the drain deadline passes (what
 * senders had already handed to the kernel is in it), and close waits for the commits. A partial
 * frame cut off by the server (stop, idle timeout, eviction) was never a whole event: it is
 * counted in `tanium_ecs_tcp_cut_frames_total` and logged, not stored as a dead letter.
 *
 * Admission: senders outside `--allow` are closed on arrival; each remote address holds at most
 * `maxConnectionsPerSource` connections; when `maxConnections` are open, the connection idle the
 * longest (past a short grace) is closed to make room, else the newcomer is refused. Each read is
 * handled on arrival and never waits for another connection, so a slow or silent client holds
 * only its own partial frame. We never write to TCP clients, so one that stops reading is harmless.
 */
import { backoffDelay } from "../../delivery/backoff.ts";
import { createServer as createNetServer, type AddressInfo, type Server, type Socket } from "node:net";
import { setTimeout as sleep } from "node:timers/promises";
import { createServer as createTlsServer } from "node:tls";
import type { Frame } from "../../framing/index.ts";
import { DetectFramer } from "../../framing/octet.ts";
import { allowChecker, formatAddress, type Cidr } from "../config.ts";
import { collect, type Submission } from "../../pipeline/step.ts";
import type { Input, InputFactory, IntakeContext, ListenOptions, TlsFiles } from "./input.ts";

export interface TcpInputOptions extends ListenOptions {
  readonly tls: TlsFiles | undefined;
  /** PEM CA: clients must present a certificate it signed (mutual TLS). Needs `tls`. */
  readonly clientCa: Buffer | undefined;
  /** Sender networks let in; `undefined`: every sender. */
  readonly allow: readonly Cidr[] | undefined;
  readonly maxConnections: number;
  readonly maxConnectionsPerSource: number;
  readonly maxConnectionBytes: number;
  /** Milliseconds without data after which a connection is closed. */
  readonly idleTimeoutMs: number;
  /** Milliseconds `close()` may take: reading what was sent (the first half), then committing it. */
  readonly drainTimeoutMs: number;
}

/** On stop, a connection that sent nothing for this long has nothing left in the kernel for us. */
const DRAIN_QUIET_MS = 200;
/** When the table is full, a connection idle this long may be closed to let a newcomer in. */
const EVICT_IDLE_MS = 1000;

/** Backoff of a failed store write: 100 ms doubling to 5 s, full jitter (spreads the retries). */
export function retryDelay(attempt: number, random: () => number = Math.random): number {
  return backoffDelay(attempt, { baseMs: 100, capMs: 5000 }, random);
}

/** The remote address as one key per host: IPv4-mapped IPv6 is the IPv4 host. */
function sourceOf(socket: Socket): string {
  const remote = socket.remoteAddress ?? "unknown";
  return /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(remote)?.[1] ?? remote;
}

/** What the connections share: options, context, and the stop's state. */
interface Shared {
  readonly options: TcpInputOptions;
  readonly context: IntakeContext;
  /** Submissions handed to the intake (or retrying) and not settled; close waits for them. */
  readonly deliveries: Set<Promise<void>>;
  /** Aborted when the stop's deadline passes: retries give up, and say what they lose. */
  readonly giveUp: AbortController;
  /** Whole frames read and partial frames cut off, over the input's life (logged at stop). */
  readonly counts: { frames: number; cut: number; lost: number };
}

export const tcp: InputFactory<TcpInputOptions> = async (options, context) => {
  const { intake, logger, metrics } = context;
  const connections = new Set<Connection>();
  const perSource = new Map<string, number>();
  /** Sockets admitted and not closed (TLS ones count from before their handshake). */
  let admitted = 0;
  const shared: Shared = {
    options,
    context,
    deliveries: new Set(),
    giveUp: new AbortController(),
    counts: { frames: 0, cut: 0, lost: 0 },
  };
  const allowed = options.allow === undefined ? undefined : allowChecker(options.allow);
  /** TLS sockets admitted whose handshake is not done, by `address:port`. */
  const handshaking = new Map<string, Socket>();
  /** Set on stop: connections that get through their handshake later drain at once. */
  let drainUntil: number | undefined;

  const refuse = (socket: Socket, why: string): void => {
    metrics.tcpRefused.inc();
    logger.warn({ input: "tcp", remote: `${socket.remoteAddress}:${socket.remotePort}` }, why);
    socket.destroy();
  };
  /** Every raw socket passes here first: allow-list, per-source cap, table cap. */
  const admit = (socket: Socket): void => {
    const source = sourceOf(socket);
    if (allowed !== undefined && !allowed(socket.remoteAddress)) {
      metrics.denied.inc({ input: "tcp" });
      logger.warn({ input: "tcp", remote: source }, "connection refused: sender not in --allow");
      socket.destroy();
      return;
    }
    const held = perSource.get(source) ?? 0;
    if (held >= options.maxConnectionsPerSource) {
      refuse(
        socket,
        `connection refused: ${source} holds ${held} connections (--max-connections-per-source)`,
      );
      return;
    }
    if (admitted >= options.maxConnections && !evictIdlest()) {
      refuse(socket, `connection refused: ${options.maxConnections} connections open (--max-connections)`);
      return;
    }
    admitted++;
    perSource.set(source, held + 1);
    const key = `${socket.remoteAddress}:${socket.remotePort}`;
    if (options.tls !== undefined) handshaking.set(key, socket);
    socket.once("close", () => {
      handshaking.delete(key);
      admitted--;
      const left = (perSource.get(source) ?? 1) - 1;
      if (left === 0) perSource.delete(source);
      else perSource.set(source, left);
    });
  };
  /** Closes the connection idle the longest if it is idle past the grace; says whether it did. */
  const evictIdlest = (): boolean => {
    let idlest: Connection | undefined;
    for (const connection of connections) {
      if (connection.idleSince === undefined) continue;
      if (idlest === undefined || connection.idleSince < idlest.idleSince!) idlest = connection;
    }
    if (idlest === undefined || Date.now() - idlest.idleSince! < EVICT_IDLE_MS) return false;
    idlest.cut("connection table full (--max-connections): closed the connection idle the longest");
    return true;
  };
  const onSecure = (socket: Socket): void => {
    // Admission destroyed it already (TLS wraps the raw socket before our listener runs).
    if (socket.destroyed) return;
    handshaking.delete(`${socket.remoteAddress}:${socket.remotePort}`);
    const connection = new Connection(socket, shared);
    connections.add(connection);
    socket.once("close", () => connections.delete(connection));
    if (drainUntil !== undefined) connection.drain(drainUntil);
  };

  const server: Server =
    options.tls === undefined
      ? createNetServer(onSecure)
      : createTlsServer(
          {
            cert: options.tls.cert,
            key: options.tls.key,
            // A handshake holds a slot: 10 s is plenty on any network (Node's default is 120 s).
            handshakeTimeout: 10_000,
            ...(options.clientCa === undefined
              ? {}
              : { ca: options.clientCa, requestCert: true, rejectUnauthorized: true }),
          },
          onSecure,
        );
  // Before TLS's own listener: a refused sender never gets a handshake.
  server.prependListener("connection", admit);
  if (options.tls !== undefined) {
    server.on("tlsClientError", (err, socket) =>
      logger.info(
        { err, input: "tcp", remote: socket.remoteAddress },
        options.clientCa === undefined
          ? "TLS handshake failed"
          : "TLS handshake failed (a client certificate signed by --tls-ca is required)",
      ),
    );
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

  let closing: Promise<void> | undefined;
  const input: Input = {
    name: "tcp",
    address: formatAddress({ host: options.listen.host, port: bound.port }),
    port: bound.port,
    close() {
      closing ??= (async () => {
        const started = Date.now();
        const readUntil = started + options.drainTimeoutMs / 2;
        drainUntil = readUntil;
        const giveUpTimer = setTimeout(() => shared.giveUp.abort(), options.drainTimeoutMs);
        // A sender still in its TLS handshake at the read deadline has sent no event.
        const handshakeTimer = setTimeout(() => {
          for (const socket of handshaking.values()) socket.destroy();
        }, readUntil - started);
        const closed = new Promise<void>((resolve) => server.close(() => resolve()));
        for (const connection of connections) connection.drain(readUntil);
        await closed;
        clearTimeout(handshakeTimer);
        // Deliveries settle (committed, or given up at the deadline); a retry may add none after
        // its connection is gone, so this empties.
        while (shared.deliveries.size > 0) await Promise.allSettled([...shared.deliveries]);
        clearTimeout(giveUpTimer);
        unsubscribe();
        logger.info(
          {
            input: "tcp",
            ms: Date.now() - started,
            frames_read: shared.counts.frames,
            partial_frames_cut: shared.counts.cut,
            lost: shared.counts.lost,
          },
          "TCP input stopped",
        );
      })();
      return closing;
    },
  };
  return input;
};

/** One client connection: framer, counters, pause state. */
class Connection {
  readonly #socket: Socket;
  readonly #shared: Shared;
  readonly #framer: DetectFramer;
  readonly #input: string;
  /** Bytes handed to the queue and not yet committed. */
  #outstanding = 0;
  /** Submissions of this connection whose last store write failed, waiting to retry. */
  #failing = 0;
  #paused = false;
  #finished = false;
  /** Set on stop: read until quiet or this time, then close. */
  #drainUntil: number | undefined;
  #quietTimer: NodeJS.Timeout | undefined;
  #lastData = Date.now();

  constructor(socket: Socket, shared: Shared) {
    this.#socket = socket;
    this.#shared = shared;
    const { options, context } = shared;
    this.#framer = new DetectFramer({ maxBytes: options.maxLineBytes });
    const host = socket.remoteAddress ?? "unknown";
    this.#input = `tcp:${formatAddress({ host, port: socket.remotePort ?? 0 })}`;
    socket.setTimeout(options.idleTimeoutMs);
    socket.on("timeout", () => {
      // A socket we paused is quiet because of us: it is not idle.
      if (this.#paused) return;
      this.cut("idle timeout: connection closed");
    });
    socket.on("data", (chunk: Buffer) => {
      this.#lastData = Date.now();
      const frames: Frame[] = [];
      this.#framer.push(chunk, frames);
      this.#submit(frames);
      if (this.#drainUntil !== undefined) this.#armQuiet();
    });
    // The sender ended its stream: what the framer holds is its last frame.
    socket.on("end", () => this.#finish(true));
    socket.on("close", () => clearTimeout(this.#quietTimer));
    socket.on("error", (err) => context.logger.debug({ err, input: this.#input }, "connection error"));
    context.logger.debug({ input: this.#input }, "connection opened");
    if (context.intake.full) this.#pause();
  }

  /** Since when this connection has sent nothing, `undefined` while we hold it paused. */
  get idleSince(): number | undefined {
    return this.#paused || this.#finished ? undefined : this.#lastData;
  }

  /** Closes the connection from our side: a partial frame it holds is counted, not stored. */
  cut(reason: string): void {
    if (this.#finished) return;
    this.#shared.context.logger.info({ input: this.#input }, reason);
    this.#finish(false);
  }

  /** Stop: keep reading what the sender already sent, until it is quiet or `until`. */
  drain(until: number): void {
    if (this.#finished) return;
    this.#drainUntil = until;
    this.#armQuiet();
  }

  maybeResume(): void {
    if (!this.#paused || this.#finished) return;
    const { intake } = this.#shared.context;
    if (intake.full || this.#failing > 0 || this.#outstanding > this.#shared.options.maxConnectionBytes)
      return;
    this.#paused = false;
    this.#socket.resume();
    this.#lastData = Date.now();
    // The idle clock starts again from now.
    this.#socket.setTimeout(this.#shared.options.idleTimeoutMs);
    if (this.#drainUntil !== undefined) this.#armQuiet();
  }

  /** On stop: closes when nothing came for DRAIN_QUIET_MS while reading, or at the read deadline. */
  #armQuiet(): void {
    clearTimeout(this.#quietTimer);
    if (this.#finished || this.#drainUntil === undefined) return;
    const left = this.#drainUntil - Date.now();
    if (left <= 0) {
      this.cut("stopping: drain deadline reached, connection closed");
      return;
    }
    // While paused, the sender's bytes wait in the kernel: only the deadline ends the wait.
    const wait = this.#paused ? left : Math.min(DRAIN_QUIET_MS, left);
    this.#quietTimer = setTimeout(() => {
      if (!this.#paused && Date.now() - this.#lastData >= DRAIN_QUIET_MS) {
        this.cut("stopping: connection quiet, closed");
      } else {
        this.#armQuiet();
      }
    }, wait);
  }

  #finish(senderEnded: boolean): void {
    if (this.#finished) return;
    this.#finished = true;
    clearTimeout(this.#quietTimer);
    if (senderEnded) {
      const frames: Frame[] = [];
      this.#framer.end(frames);
      this.#submit(frames);
    } else if (this.#framer.buffered > 0) {
      const { metrics, logger } = this.#shared.context;
      metrics.tcpCutFrames.inc();
      this.#shared.counts.cut++;
      logger.warn(
        { input: this.#input, bytes: this.#framer.buffered },
        "connection closed by the server in the middle of a frame: partial frame discarded (not an event)",
      );
    }
    this.#socket.destroy();
  }

  #pause(): void {
    if (this.#paused) return;
    this.#paused = true;
    this.#socket.pause();
    this.#shared.context.logger.debug({ input: this.#input }, "back-pressure: connection paused");
  }

  #submit(frames: Frame[]): void {
    if (frames.length === 0) return;
    const { intake, metrics } = this.#shared.context;
    metrics.received.inc({ input: "tcp" }, frames.length);
    this.#shared.counts.frames += frames.length;
    const submission = collect(this.#shared.context.collector, frames, {
      input: this.#input,
      receivedAt: new Date().toISOString(),
      maxLineBytes: this.#shared.options.maxLineBytes,
      original: this.#shared.context.original,
      hosts: this.#shared.context.hosts,
    });
    this.#outstanding += submission.bytes;
    const delivery = this.#deliver(submission).finally(() => {
      this.#shared.deliveries.delete(delivery);
      this.#outstanding -= submission.bytes;
      this.maybeResume();
    });
    this.#shared.deliveries.add(delivery);
    if (intake.full || this.#outstanding > this.#shared.options.maxConnectionBytes) this.#pause();
  }

  /** Submits until committed: a failed write pauses the socket and is retried after a backoff. */
  async #deliver(submission: Submission): Promise<void> {
    const { intake, logger, metrics } = this.#shared.context;
    const { signal } = this.#shared.giveUp;
    let failing = false;
    try {
      for (let attempt = 0; ; attempt++) {
        try {
          await intake.submit(submission);
          return;
        } catch (err) {
          if (signal.aborted) {
            const events = submission.docs.length + submission.deadLetters.length;
            metrics.tcpLost.inc(events);
            this.#shared.counts.lost += events;
            logger.error(
              { err, input: this.#input, events },
              "store write still failing at the stop deadline: these events are lost",
            );
            return;
          }
          if (!failing) {
            failing = true;
            this.#failing++;
            this.#pause();
          }
          const delay = retryDelay(attempt);
          logger.warn(
            { err, input: this.#input, attempt: attempt + 1, retry_ms: delay },
            "store write failed: connection paused, retrying",
          );
          // The deadline wakes the wait: the last attempt then decides.
          await sleep(delay, undefined, { signal }).catch(() => {});
        }
      }
    } finally {
      if (failing) this.#failing--;
    }
  }
}

/**
 * @module broker/connection
 * One connection to the NATS cluster per process (receiver, worker, `nats status`, `replay
 * --nats`), through the official client (`@nats-io/transport-node`, `@nats-io/jetstream`). It
 * reconnects forever with jitter: a node killed or restarted is a pause, not an exit; only the
 * first connection must succeed, so that a wrong address fails the start with a clear message.
 */
import { readFileSync } from "node:fs";
import { connect, type NatsConnection } from "@nats-io/transport-node";
import {
  JetStreamApiError,
  jetstream,
  jetstreamManager,
  type JetStreamClient,
  type JetStreamManager,
} from "@nats-io/jetstream";
import { setTimeout as sleep } from "node:timers/promises";
import { backoffDelay } from "../delivery/backoff.ts";
import type { Logger } from "pino";
import type { BrokerSettings } from "./settings.ts";

export interface Broker {
  readonly nc: NatsConnection;
  readonly js: JetStreamClient;
  readonly jsm: JetStreamManager;
  readonly settings: BrokerSettings;
  /** Drains (in-flight publishes and acks sent) and closes; idempotent. */
  close(): Promise<void>;
}

/** The broker could not be reached or refused us at start: the message says what to check. */
export class BrokerError extends Error {
  override name = "BrokerError";
}

export interface ConnectOptions {
  /** The connection's name, shown by the server's monitoring (`/connz`). */
  readonly name: string;
  readonly logger?: Logger;
  /** How long the first connection may take (default 10 s). */
  readonly timeoutMs?: number;
  /** How long JetStream may take to answer after the connection, during an election (default 30 s). */
  readonly jetStreamWaitMs?: number;
}

/**
 * A failure of a JetStream request that a meta-leader election explains (right after a node is
 * lost): a timeout, 503, or 10008 "JetStream system temporarily unavailable".
 */
export function electing(err: unknown): boolean {
  if (err instanceof JetStreamApiError) return err.code === 10008 || err.status === 503;
  return err instanceof Error && err.constructor.name === "TimeoutError";
}

/**
 * Runs `attempt` again while it fails in a way `passes` says is an election (capped exponential
 * backoff), until `withinMs`: a process starting during one waits it out instead of exiting.
 * Throws the last failure otherwise.
 */
export async function retryDuringElection<T>(
  attempt: () => Promise<T>,
  withinMs: number,
  passes: (err: unknown) => boolean = electing,
  onRetry?: (err: unknown) => void,
): Promise<T> {
  const deadline = Date.now() + withinMs;
  for (let n = 0; ; n++) {
    try {
      return await attempt();
    } catch (err) {
      const wait = backoffDelay(n, { baseMs: 250, capMs: 2000 });
      if (!passes(err) || Date.now() + wait > deadline) throw err;
      onRetry?.(err);
      await sleep(wait);
    }
  }
}

export async function connectBroker(settings: BrokerSettings, options: ConnectOptions): Promise<Broker> {
  const { logger } = options;
  let ca: string | undefined;
  if (settings.ca_file !== undefined) {
    try {
      ca = readFileSync(settings.ca_file, "utf8");
    } catch (err) {
      throw new BrokerError(`nats.ca_file ${settings.ca_file}: ${(err as Error).message}`);
    }
  }
  let nc: NatsConnection;
  try {
    nc = await connect({
      servers: settings.servers,
      name: options.name,
      timeout: options.timeoutMs ?? 10_000,
      maxReconnectAttempts: -1,
      reconnectTimeWait: 250,
      reconnectJitter: 250,
      // Else every request (each JetStream publish) builds Error objects up front, only to give a
      // timeout's trace the caller's stack (nats-core's noAsyncTraces): measured here, that was a
      // quarter of a receiver's CPU; without it a receiver publishing to one node took about
      // 1.5 × the events per second.
      noAsyncTraces: true,
      ...(settings.token === undefined ? {} : { token: settings.token }),
      ...(settings.user === undefined ? {} : { user: settings.user, pass: settings.password }),
      ...(ca === undefined ? {} : { tls: { ca } }),
    });
  } catch (err) {
    throw new BrokerError(
      `cannot connect to NATS at ${settings.servers.join(", ")}: ${(err as Error).message} ` +
        "(check nats.servers, that nats-server runs with JetStream, and the credentials)",
      { cause: err },
    );
  }
  // Status changes, for the log: a reconnect after a node was lost is expected, not an error.
  void (async () => {
    for await (const status of nc.status()) {
      if (status.type === "disconnect") logger?.warn({ server: status.server }, "nats: disconnected");
      else if (status.type === "reconnect") logger?.info({ server: status.server }, "nats: reconnected");
      else if (status.type === "error") logger?.warn({ err: status.error }, "nats: error");
    }
  })().catch(() => {});
  let jsm: JetStreamManager;
  // The manager's first request (account info) waits out an election; no responders at all is
  // a server without JetStream.
  try {
    jsm = await retryDuringElection(
      () => jetstreamManager(nc, { timeout: 5_000 }),
      options.jetStreamWaitMs ?? 30_000,
      electing,
      (err) =>
        logger?.warn(
          { err: (err as Error).message },
          "nats: JetStream not answering yet (an election?), asking again",
        ),
    );
  } catch (err) {
    await nc.close().catch(() => {});
    throw new BrokerError(
      electing(err)
        ? `NATS at ${settings.servers.join(", ")}: JetStream did not answer within 30 s: ${(err as Error).message} (is a quorum of the cluster up?)`
        : `NATS at ${settings.servers.join(", ")} has no JetStream: ${(err as Error).message} (start nats-server with -js or a jetstream block)`,
      { cause: err },
    );
  }
  const js = jetstream(nc, { timeout: 10_000 });
  let closing: Promise<void> | undefined;
  return {
    nc,
    js,
    jsm,
    settings,
    close() {
      closing ??= (async () => {
        if (nc.isClosed()) return;
        await nc.drain().catch(() => nc.close());
      })();
      return closing;
    },
  };
}

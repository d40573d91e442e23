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

/** A failure of a JetStream request that an election explains: a timeout, 503, 10008. */
function electing(err: unknown): boolean {
  if (err instanceof JetStreamApiError) return err.code === 10008 || err.status === 503;
  return err instanceof Error && err.constructor.name === "TimeoutError";
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
  let jsm: JetStreamManager | undefined;
  // The manager's first request (account info) times out, or answers 503 / 10008, while the
  // cluster elects its meta leader (right after a node is lost): that passes within seconds, so
  // it is asked again for up to 30 s. No responders at all is a server without JetStream.
  const deadline = Date.now() + (options.jetStreamWaitMs ?? 30_000);
  for (let attempt = 0; jsm === undefined; attempt++) {
    try {
      jsm = await jetstreamManager(nc, { timeout: 5_000 });
    } catch (err) {
      const wait = backoffDelay(attempt, { baseMs: 250, capMs: 2000 });
      if (electing(err) && Date.now() + wait < deadline) {
        logger?.warn(
          { err: (err as Error).message },
          "nats: JetStream not answering yet (an election?), asking again",
        );
        await sleep(wait);
        continue;
      }
      await nc.close().catch(() => {});
      throw new BrokerError(
        electing(err)
          ? `NATS at ${settings.servers.join(", ")}: JetStream did not answer within 30 s: ${(err as Error).message} (is a quorum of the cluster up?)`
          : `NATS at ${settings.servers.join(", ")} has no JetStream: ${(err as Error).message} (start nats-server with -js or a jetstream block)`,
        { cause: err },
      );
    }
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

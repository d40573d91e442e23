/**
 * @module broker/publisher
 * The receiver's one sink (`serve --publish`): each raw event (`broker/raw.ts`) is published to
 * the raw stream on `<subject>.<input kind>` with `Nats-Msg-Id` = its key, and settles only once
 * JetStream acknowledged it, which it does after the stream's replicas wrote it (R3: a quorum):
 * so an HTTP 200 means "replicated in the stream". Through the intake's existing contract:
 *
 * - a publish failing during a leader election (about 4 s on NATS 2.9.10) is retried with the
 *   same id and capped backoff (`broker/publish.ts`) until `publish_timeout`; past it `deliver`
 *   rejects and the batch fails (HTTP 503 + Retry-After, TCP retries the read);
 * - a stream at its `max_bytes` (`discard: new` refuses the publish) makes the sink `full`: the
 *   intake then answers new HTTP bodies 503 at once and pauses TCP sockets, while the publishes
 *   in hand keep retrying; the first that is taken clears `full` and wakes the intake;
 * - a message the server will never take (larger than its `max_payload`, 1 MB by default) is
 *   settled `rejected`: the intake keeps it as a local dead letter with the reason.
 */
import { setMaxListeners } from "node:events";
import type { Registry } from "prom-client";
import { hostname } from "node:os";
import type { PipelineSink } from "../delivery/index.ts";
import type { OutEvent } from "../delivery/event.ts";
import {
  DELIVERED,
  DUPLICATE,
  rejected,
  SinkError,
  type Settlement,
  type SinkContext,
  type SinkHealth,
} from "../delivery/sink.ts";
import { Semaphore } from "../pipeline/semaphore.ts";
import { connectBroker, type Broker } from "./connection.ts";
import { encodeRaw, isRawEvent, type RawEvent } from "./message.ts";
import { PublishError, publishRetrying, type PublishFailure } from "./publish.ts";
import type { BrokerSettings } from "./settings.ts";
import { registerBrokerMetrics } from "./status.ts";
import { ensureReceiverTopology } from "./topology.ts";

export interface PublisherOptions {
  /** The connection's name in the servers' monitoring (default `tanium-ecs receiver <host>`). */
  readonly connectionName?: string;
  /** How long the first connection may take (default 10 s). */
  readonly connectTimeoutMs?: number;
}

export class NatsPublisher implements PipelineSink {
  readonly name = "nats";
  readonly kind = "nats";
  readonly #settings: BrokerSettings;
  readonly #context: SinkContext;
  readonly #options: PublisherOptions;
  readonly #slots: Semaphore;
  /** Aborted by `close()`: every publish in hand stops retrying. */
  readonly #stopper = new AbortController();
  readonly #roomListeners = new Set<() => void>();
  #broker: Broker | undefined;
  #closing: Promise<void> | undefined;
  #full = false;
  /** Publishes whose last attempt failed for a reason other than a full stream. */
  #failing = 0;
  #failingSince: number | undefined;
  #lastError: string | undefined;
  /** Set while the connection is lost (the client reconnects on its own). */
  #disconnectedSince: number | undefined;

  constructor(settings: BrokerSettings, context: SinkContext, options: PublisherOptions = {}) {
    this.#settings = settings;
    this.#context = context;
    this.#options = options;
    this.#slots = new Semaphore(settings.max_in_flight);
  }

  /** True while the stream refuses publishes for its size cap (`discard: new`). */
  get full(): boolean {
    return this.#full;
  }

  /** The stream's and the workers' figures on this receiver's `/metrics` (`broker/status.ts`). */
  registerMetrics(registry: Registry): void {
    if (this.#broker === undefined) throw new Error("the publisher registers its metrics once started");
    registerBrokerMetrics(registry, this.#broker.jsm, this.#settings);
  }

  onRoom(listener: () => void): () => void {
    this.#roomListeners.add(listener);
    return () => this.#roomListeners.delete(listener);
  }

  /** Connects and creates or checks the raw stream; throws `BrokerError` / `TopologyError` in words. */
  async start(): Promise<void> {
    if (this.#broker !== undefined) return;
    const { logger } = this.#context;
    const broker = await connectBroker(this.#settings, {
      name: this.#options.connectionName ?? `tanium-ecs receiver ${hostname()}`,
      logger,
      ...(this.#options.connectTimeoutMs === undefined ? {} : { timeoutMs: this.#options.connectTimeoutMs }),
    });
    try {
      await ensureReceiverTopology(broker.jsm, this.#settings);
    } catch (err) {
      await broker.close();
      throw err;
    }
    this.#broker = broker;
    void (async () => {
      for await (const status of broker.nc.status()) {
        if (status.type === "disconnect") this.#disconnectedSince ??= Date.now();
        else if (status.type === "reconnect") this.#disconnectedSince = undefined;
      }
    })().catch(() => {});
  }

  async deliver(events: readonly OutEvent[], signal?: AbortSignal): Promise<Settlement[]> {
    const broker = this.#broker;
    if (this.#stopper.signal.aborted) throw new SinkError("ERR_SINK_CLOSED", `sink ${this.name} is closed`);
    if (broker === undefined) throw new SinkError("ERR_SINK_NOT_STARTED", `sink ${this.name} is not started`);
    const raw: RawEvent[] = [];
    for (const event of events) {
      // Only the receiver's collector feeds this sink: anything else is a wiring defect.
      if (!isRawEvent(event))
        throw new TypeError(
          `sink ${this.name} takes raw events only (serve --publish uses the raw collector)`,
        );
      raw.push(event);
    }
    // One failure fails the batch (the sender sends it all again): the rest stop retrying.
    const batch = new AbortController();
    const stop = AbortSignal.any(
      signal === undefined
        ? [batch.signal, this.#stopper.signal]
        : [batch.signal, this.#stopper.signal, signal],
    );
    // Each publish waiting for a slot or a retry listens to it: thousands, by design.
    setMaxListeners(0, stop);
    // The same text twice (a sender's repeat) is one message: one publish settles every copy.
    const publishes = new Map<string, Promise<Settlement>>();
    const settled = raw.map((event) => {
      let publish = publishes.get(event.id);
      if (publish === undefined) {
        publish = this.#publish(broker, event, stop);
        publishes.set(event.id, publish);
      }
      return publish;
    });
    try {
      return await Promise.all(settled);
    } catch (err) {
      batch.abort(err);
      throw err;
    }
  }

  async #publish(broker: Broker, event: RawEvent, stop: AbortSignal): Promise<Settlement> {
    const { metrics } = this.#context;
    const { subject, headers, data } = encodeRaw(event, this.#settings.subject);
    try {
      await this.#slots.acquire(stop);
    } catch (err) {
      throw this.#stopped(stop, err);
    }
    let counted = false;
    const failingNow = (yes: boolean, failure?: PublishFailure): void => {
      if (failure !== undefined) this.#lastError = failure.message;
      if (yes === counted) return;
      counted = yes;
      if (yes && this.#failing++ === 0) this.#failingSince = Date.now();
      if (!yes && --this.#failing === 0) this.#failingSince = undefined;
    };
    try {
      for (;;) {
        try {
          const ack = await publishRetrying(broker.js, subject, data, {
            msgID: event.id,
            headers,
            deadline: Date.now() + this.#settings.publish_timeout,
            signal: stop,
            onRetry: (failure) => {
              metrics.retried.inc();
              if (failure.kind === "full") this.#setFull(failure);
              // A full stream is back-pressure (`full`), not a failing sink.
              failingNow(failure.kind !== "full", failure);
            },
          });
          failingNow(false);
          this.#setRoom();
          if (ack.duplicate) {
            metrics.duplicates.inc();
            return DUPLICATE;
          }
          metrics.delivered.inc();
          return DELIVERED;
        } catch (err) {
          if (!(err instanceof PublishError)) throw err;
          if (stop.aborted) throw this.#stopped(stop, err);
          const { failure } = err;
          if (failure.kind === "refused") {
            metrics.rejected.inc();
            return rejected(`NATS refused the message: ${failure.message}`);
          }
          if (failure.kind === "closed")
            throw new SinkError("ERR_SINK_CLOSED", `sink ${this.name}: the NATS connection is closed`, {
              cause: err,
            });
          if (failure.kind === "full") this.#setFull(failure);
          // While the stream is full every publish in hand keeps trying: one of them must find the
          // room, or the intake would refuse HTTP and hold TCP for ever. Otherwise the deadline holds.
          if (this.#full) continue;
          throw new SinkError(
            "ERR_SINK_WRITE",
            `sink ${this.name}: stream ${this.#settings.stream} did not acknowledge a publish within ` +
              `${this.#settings.publish_timeout / 1000} s (nats.publish_timeout): ${failure.message}`,
            { cause: err },
          );
        }
      }
    } finally {
      failingNow(false);
      this.#slots.release();
    }
  }

  #stopped(stop: AbortSignal, cause: unknown): SinkError {
    if (this.#stopper.signal.aborted)
      return new SinkError("ERR_SINK_CLOSED", `sink ${this.name} is closed`, { cause });
    const reason: unknown = stop.reason;
    if (reason instanceof SinkError) return reason;
    return new SinkError("ERR_SINK_WRITE", `sink ${this.name}: the publish was aborted`, { cause });
  }

  #setFull(failure: PublishFailure): void {
    if (this.#full) return;
    this.#full = true;
    this.#context.logger.warn(
      { stream: this.#settings.stream, max_bytes: this.#settings.max_bytes, reason: failure.message },
      "nats: the stream is full: intake pushes back until it has room",
    );
  }

  #setRoom(): void {
    if (!this.#full) return;
    this.#full = false;
    this.#context.logger.info({ stream: this.#settings.stream }, "nats: the stream has room again");
    for (const listener of [...this.#roomListeners]) listener();
  }

  health(): SinkHealth {
    const since =
      this.#disconnectedSince === undefined
        ? this.#failingSince
        : Math.min(this.#disconnectedSince, this.#failingSince ?? Infinity);
    if (since === undefined) return { ok: true };
    const lastError =
      this.#disconnectedSince !== undefined && this.#failing === 0
        ? "disconnected from NATS (reconnecting)"
        : (this.#lastError ?? "publishes are failing");
    return { ok: false, failingSince: since, lastError };
  }

  /** Stops the retries in hand (their batches fail: nothing more is acknowledged), then drains the connection. */
  close(): Promise<void> {
    this.#closing ??= (async () => {
      this.#stopper.abort(new SinkError("ERR_SINK_CLOSED", `sink ${this.name} is closed`));
      this.#roomListeners.clear();
      await this.#broker?.close();
    })();
    return this.#closing;
  }
}

export function natsPublisher(
  settings: BrokerSettings,
  context: SinkContext,
  options?: PublisherOptions,
): NatsPublisher {
  return new NatsPublisher(settings, context, options);
}

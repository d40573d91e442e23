/**
 * @module broker/worker
 * `tanium-ecs worker`: takes raw events from the stream through the workers' one durable pull
 * consumer (any number of workers share it: JetStream hands each message to one of them), runs
 * the one step on each (`prepare`: normalize, host enrichment), delivers the documents to the
 * sinks through the same intake as `serve`, and acknowledges a message only once its sinks
 * settled it and its dead letters are in the dead-letter stream.
 *
 * - A batch whose sinks failed or passed `deliverTimeoutMs` is negatively acknowledged with a
 *   delay that grows with the message's delivery count: the stream keeps it meanwhile.
 * - On its last delivery (`max_deliver`) it becomes an `ERR_DELIVERY_FAILED` dead letter with the
 *   last failure and is terminated. A message whose last delivery no worker settled (killed, or
 *   the ack wait passed) is announced by the server's MAX_DELIVERIES advisory (measured on 2.9.10:
 *   sent for an ack wait that passed and for a nak at the last delivery); one worker of the queue
 *   group reads it back from the stream and dead-letters it the same way.
 * - A dead letter's `Nats-Msg-Id` is the raw message's stream sequence with the letter's code and
 *   original: a redelivery of the same message stores its letter once, while the same line
 *   arriving anew (a replay, a resend past the duplicate window) gets a letter of its own.
 * - A message held longer than half the ack wait gets `working()` (the ack wait starts again), so
 *   a slow sink does not cause redeliveries.
 * - `close()` (SIGTERM): no more pulls; messages pulled but not yet started are naked at once for
 *   another worker; those in flight settle and are acked; sinks closed; the connection drained (the
 *   acks are sent). A worker killed with -9 loses nothing: its messages come again after the ack wait.
 *
 * The remote sinks deliver straight, without their disk buffer: the stream already is the
 * buffer (replicated, unlike one worker's disk), and a buffer would acknowledge messages that are
 * only on that worker's disk, lost with it. While a destination is down the messages wait in the
 * stream, redelivered with growing delays (1 s doubling to 60 s; with the defaults, 10 deliveries
 * of up to 30 s each, about 9 minutes before they become dead letters for `replay --nats`).
 *
 * Host enrichment is per worker: each `HostDirectory` learns from the inventory documents that
 * worker normalizes (and keeps them in the host table when its sink is the DuckDB store of
 * `--data`), so with several workers a recorder event gets `host.os.*` when its worker saw that
 * host's inventory.
 */
import { setTimeout as sleep } from "node:timers/promises";
import type { AddressInfo } from "node:net";
import type { Consumer, ConsumerMessages, JsMsg } from "@nats-io/jetstream";
import type { Subscription } from "@nats-io/transport-node";
import fastify from "fastify";
import { Counter, Gauge } from "prom-client";
import { buildSinks, type PipelineSink, type SinkSpec } from "../delivery/index.ts";
import { backoffDelay, type BackoffOptions } from "../delivery/backoff.ts";
import { createSinkMetrics } from "../delivery/metrics.ts";
import { SINK_REJECTED } from "../delivery/sink.ts";
import { HostDirectory } from "../enrich/hosts.ts";
import type { ErrorCode } from "../errors.ts";
import { prepare, type Submission } from "../pipeline/step.ts";
import { Intake, type DeadLetterWriter } from "../server/batcher.ts";
import { ConfigError, formatAddress, type ListenAddress, type ServerConfig } from "../server/config.ts";
import { createLogger, type Logger } from "../server/log.ts";
import { createMetrics, type ServerMetrics } from "../server/metrics.ts";
import { stores } from "../store/index.ts";
import type { DeadLetterRow, EventStore, WriteResult } from "../store/store.ts";
import { connectBroker, type Broker } from "./connection.ts";
import { DeadLetterPublisher } from "./dead-letters.ts";
import { decodeRaw, type DecodedRaw } from "./message.ts";
import type { BrokerSettings } from "./settings.ts";
import { registerBrokerMetrics } from "./status.ts";
import { ensureWorkerTopology } from "./topology.ts";

/** The dead-letter code of a message its sinks did not take within `max_deliver` deliveries. */
export const DELIVERY_FAILED = "ERR_DELIVERY_FAILED" satisfies ErrorCode;

export interface WorkerDeps {
  /** Where logs go (default: JSON lines on stdout at `config.logLevel`). */
  readonly logger?: Logger;
  /** Sinks built by the caller (tests), used instead of `config.sinks`; started and closed by the worker. */
  readonly sinks?: readonly PipelineSink[];
  /** `--metrics ADDR:PORT`: a listener with `/metrics` and `/healthz` (none by default). */
  readonly metricsListen?: ListenAddress;
  /**
   * How long the sinks may take to settle one batch before it fails and its messages are naked
   * (default: the consumer's ack wait; `working()` keeps the messages meanwhile).
   */
  readonly deliverTimeoutMs?: number;
  /** The nak delays by delivery count (default 1 s doubling to 60 s, jittered). */
  readonly nakBackoff?: BackoffOptions;
  /** The connection's name on the server (default `tanium-ecs worker <pid>`). */
  readonly connectionName?: string;
}

/** The worker's own counters, beside the intake's and the sinks' (one registry). */
export interface WorkerMessageMetrics {
  readonly received: Counter;
  readonly acked: Counter;
  readonly naked: Counter;
  readonly terminated: Counter;
  /** Messages that arrived with a delivery count above 1. */
  readonly redelivered: Counter;
  /** `working()` sent for a message still being settled. */
  readonly working: Counter;
  /** Messages pulled and not yet settled. */
  readonly held: Gauge;
}

export interface WorkerHandle {
  readonly broker: Broker;
  readonly sinks: readonly PipelineSink[];
  readonly metrics: ServerMetrics;
  readonly messages: WorkerMessageMetrics;
  readonly logger: Logger;
  /** `127.0.0.1:9590` when `metricsListen` was given. */
  readonly metricsAddress: string | undefined;
  /** Messages pulled and not yet settled, now. */
  readonly held: number;
  /** Stop pulling, settle and ack what is in flight, close the sinks, drain the connection. Idempotent. */
  close(): Promise<void>;
}

/** With no sink configured, the DuckDB store in the data folder, as `serve` does. */
const DEFAULT_SINK: SinkSpec = { name: "duckdb", kind: "duckdb", settings: {} };
const HOST_SAVE_MS = 2_000;
/** How long the stop may take to drain the connection. */
const DRAIN_MS = 5_000;
/** Messages submitted to the intake together at most. */
const GROUP_MAX = 250;
/** How long one pull waits for messages; the stop waits for it (the client's minimum is 1 s). */
const FETCH_EXPIRES_MS = 2_000;

function workerMetrics(metrics: ServerMetrics): WorkerMessageMetrics {
  const registers = [metrics.registry];
  const counter = (name: string, help: string): Counter => new Counter({ name, help, registers });
  return {
    received: counter("tanium_ecs_worker_messages_received_total", "Raw messages pulled from the stream."),
    acked: counter(
      "tanium_ecs_worker_messages_acked_total",
      "Raw messages acknowledged: every sink settled their documents and their dead letters are stored.",
    ),
    naked: counter(
      "tanium_ecs_worker_messages_naked_total",
      "Raw messages handed back for a later delivery (a sink failed or timed out, or the worker was stopping).",
    ),
    terminated: counter(
      "tanium_ecs_worker_messages_terminated_total",
      "Raw messages given up at their last delivery, each an ERR_DELIVERY_FAILED dead letter.",
    ),
    redelivered: counter(
      "tanium_ecs_worker_messages_redelivered_total",
      "Raw messages that arrived again (a nak, an ack wait passed, a worker lost).",
    ),
    working: counter(
      "tanium_ecs_worker_messages_working_total",
      "Ack-wait extensions sent for messages still being settled.",
    ),
    held: new Gauge({
      name: "tanium_ecs_worker_messages_held",
      help: "Raw messages pulled and not yet settled.",
      registers,
    }),
  };
}

/** A message between its pull and its settlement. */
interface Held {
  readonly msg: JsMsg;
  /** The raw text: the line, or what the framer kept. */
  readonly text: string;
  readonly decoded: DecodedRaw;
  /** Its document's JSON, when it became one (what a sink's refusal names). */
  readonly json: string | undefined;
  /** When it was pulled or last got `working()`. */
  touched: number;
}

/** The submission of several messages: their documents and dead letters side by side. */
function joined(parts: readonly Submission[]): Submission {
  if (parts.length === 1) return parts[0]!;
  const first = parts[0]!;
  const out = {
    docs: [] as Submission["docs"],
    deadLetters: [] as Submission["deadLetters"],
    frames: 0,
    bytes: 0,
    unmappedKeys: 0,
    unsafeKeys: 0,
    // Only a sink's refusal reads these; `#rawRow` gives each its own message's.
    input: first.input,
    receivedAt: first.receivedAt,
  };
  for (const part of parts) {
    for (const doc of part.docs) out.docs.push(doc);
    for (const row of part.deadLetters) out.deadLetters.push(row);
    out.frames += part.frames;
    out.bytes += part.bytes;
    out.unmappedKeys += part.unmappedKeys;
    out.unsafeKeys += part.unsafeKeys;
  }
  return out;
}

/** The id of a dead letter of raw message `seq` (see the module's comment). */
export function deadLetterId(seq: number, byContent: string): string {
  return `dead:${seq}:${byContent}`;
}

/** The nak delay before delivery `deliveries + 1`: capped, doubling, half of it jittered. */
function nakDelay(deliveries: number, options: BackoffOptions): number {
  const base = options.baseMs ?? 1000;
  const cap = options.capMs ?? 60_000;
  const ceiling = Math.min(cap, base * 2 ** Math.min(Math.max(deliveries - 1, 0), 30));
  return Math.round(ceiling / 2 + backoffDelay(deliveries - 1, { baseMs: base, capMs: cap }) / 2);
}

function message(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

export async function startWorker(config: ServerConfig, deps: WorkerDeps = {}): Promise<WorkerHandle> {
  const settings = config.nats;
  if (settings === undefined) {
    throw new ConfigError("the worker needs the NATS servers: --nats nats://HOST:4222,… or nats.servers");
  }
  const logger = deps.logger ?? createLogger(config.logLevel);
  const broker = await connectBroker(settings, {
    name: deps.connectionName ?? `tanium-ecs worker ${process.pid}`,
    logger,
  });
  const cleanups: (() => Promise<void>)[] = [() => closeBroker(broker)];
  const unwind = async (): Promise<void> => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup().catch(() => {});
  };
  try {
    await ensureWorkerTopology(broker.jsm, settings);
    const worker = await Worker.start(config, settings, broker, logger, deps, cleanups);
    return worker.handle();
  } catch (err) {
    await unwind();
    throw err;
  }
}

/**
 * Drains the connection (the last acks go out), but not forever: with NATS unreachable a drain
 * waits for a reconnection that may not come, and what it would have sent is only acks, whose
 * messages come again after the ack wait.
 */
async function closeBroker(broker: Broker): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const gaveUp = new Promise<"late">((resolve) => {
    timer = setTimeout(() => resolve("late"), DRAIN_MS);
  });
  const outcome = await Promise.race([broker.close().then(() => "drained" as const), gaveUp]);
  clearTimeout(timer);
  if (outcome === "late") await broker.nc.close().catch(() => {});
}

/** Whether the sink list needs the data folder's DuckDB store (the default sink, or a duckdb sink without `data`). */
function needsLocalStore(specs: readonly SinkSpec[]): boolean {
  return specs.some(
    (spec) =>
      spec.kind === "duckdb" &&
      (spec.settings === undefined ||
        spec.settings === null ||
        (spec.settings as { data?: unknown }).data === undefined),
  );
}

class Worker {
  readonly #config: ServerConfig;
  readonly #settings: BrokerSettings;
  readonly #broker: Broker;
  readonly #logger: Logger;
  readonly #sinks: readonly PipelineSink[];
  readonly #metrics: ServerMetrics;
  readonly #messages: WorkerMessageMetrics;
  readonly #intake: Intake;
  readonly #publisher: DeadLetterPublisher;
  readonly #hosts = new HostDirectory();
  readonly #store: EventStore | undefined;
  readonly #nakBackoff: BackoffOptions;
  readonly #cleanups: (() => Promise<void>)[];
  readonly #held = new Set<Held>();
  /** Messages pulled in the current burst, not yet submitted, and their step's results. */
  #group: Held[] = [];
  #groupParts: Submission[] = [];
  #groupTimer: NodeJS.Immediate | undefined;
  /** Settlements under way (for `close`). */
  readonly #settling = new Set<Promise<void>>();
  readonly #stop = new AbortController();
  /** Messages held at most: pulled and not yet settled. */
  readonly #limit: number;
  readonly #roomListeners = new Set<() => void>();
  #consumeLoop: Promise<void> | undefined;
  /** The pull under way. */
  #fetching: ConsumerMessages | undefined;
  #advisories: Subscription | undefined;
  #metricsAddress: string | undefined;
  #connected = true;
  #closing: Promise<void> | undefined;

  private constructor(
    config: ServerConfig,
    settings: BrokerSettings,
    broker: Broker,
    logger: Logger,
    sinks: readonly PipelineSink[],
    metrics: ServerMetrics,
    store: EventStore | undefined,
    deps: WorkerDeps,
    cleanups: (() => Promise<void>)[],
  ) {
    this.#config = config;
    this.#settings = settings;
    this.#broker = broker;
    this.#logger = logger;
    this.#sinks = sinks;
    this.#metrics = metrics;
    this.#store = store;
    this.#cleanups = cleanups;
    this.#nakBackoff = deps.nakBackoff ?? {};
    this.#messages = workerMetrics(metrics);
    this.#publisher = new DeadLetterPublisher({ js: broker.js, settings, logger });
    const writer: DeadLetterWriter = { write: (batch) => this.#writeDeadLetters(batch.deadLetters) };
    // Two batches: one being delivered while the next fills. Beyond that messages wait in the
    // stream, where another worker can take them, rather than in this one's memory.
    this.#limit = Math.max(1, Math.min(config.queueMax, 2 * config.batchMax, settings.max_ack_pending));
    this.#intake = new Intake(sinks, writer, metrics, {
      batchMax: config.batchMax,
      batchMs: config.batchMs,
      queueMax: this.#limit,
      queueMaxBytes: config.queueMaxBytes,
      deliverTimeoutMs: deps.deliverTimeoutMs ?? settings.ack_wait,
    });
    this.#intake.onRoom(() => {
      for (const listener of [...this.#roomListeners]) listener();
    });
  }

  static async start(
    config: ServerConfig,
    settings: BrokerSettings,
    broker: Broker,
    logger: Logger,
    deps: WorkerDeps,
    cleanups: (() => Promise<void>)[],
  ): Promise<Worker> {
    const specs = config.sinks.length === 0 ? [DEFAULT_SINK] : config.sinks;
    let store: EventStore | undefined;
    if (deps.sinks === undefined && needsLocalStore(specs)) {
      const opened = await stores.duckdb({
        dataDir: config.data,
        ...(config.retainMs === undefined ? {} : { retainMs: config.retainMs }),
      });
      store = opened;
      cleanups.push(() => opened.close());
      logger.info({ store: opened.name }, "store open");
    }
    const metrics = createMetrics();
    let sinks: readonly PipelineSink[];
    try {
      sinks =
        deps.sinks ??
        // No bufferDir: the remote sinks deliver straight (see the module's comment).
        buildSinks(specs, {
          logger,
          metrics: createSinkMetrics(metrics.registry),
          ...(store === undefined ? {} : { localStore: store }),
        });
    } catch (err) {
      throw new ConfigError(message(err));
    }
    for (const sink of sinks) {
      await sink.start();
      cleanups.push(() =>
        sink.close().catch((err: unknown) => logger.warn({ err, sink: sink.name }, "sink close failed")),
      );
      logger.info({ sink: sink.name, kind: sink.kind }, "sink started");
    }
    // The stream's, the consumer's and the dead letters' figures, beside the worker's own.
    registerBrokerMetrics(metrics.registry, broker.jsm, settings);
    const worker = new Worker(config, settings, broker, logger, sinks, metrics, store, deps, cleanups);
    if (store?.loadHosts !== undefined) worker.#hosts.load(await store.loadHosts());
    if (deps.metricsListen !== undefined) await worker.#listen(deps.metricsListen);
    worker.#watchConnection();
    worker.#watchMaxDeliveries();
    worker.#consumeLoop = worker.#consume();
    worker.#startTimers();
    logger.info(
      {
        stream: settings.stream,
        consumer: settings.consumer,
        dead_letter_stream: settings.dead_letter_stream,
        sinks: sinks.map((s) => s.name),
        ack_wait_ms: settings.ack_wait,
        max_deliver: settings.max_deliver,
        ...(worker.#metricsAddress === undefined ? {} : { metrics: worker.#metricsAddress }),
      },
      "worker started",
    );
    return worker;
  }

  handle(): WorkerHandle {
    // eslint-disable-next-line @typescript-eslint/no-this-alias
    const self = this;
    return {
      broker: this.#broker,
      sinks: this.#sinks,
      metrics: this.#metrics,
      messages: this.#messages,
      logger: this.#logger,
      metricsAddress: this.#metricsAddress,
      get held() {
        return self.#held.size;
      },
      close: () => this.close(),
    };
  }

  /**
   * The intake's dead letters, each keyed by the raw message it comes from (found among the held
   * ones by its text: looked up only when there are letters), a sink's refusal carrying the raw
   * event (what `replay --nats` can send through again) rather than the document.
   */
  async #writeDeadLetters(rows: readonly DeadLetterRow[]): Promise<WriteResult> {
    const byText = new Map<string, Held>();
    for (const held of this.#held) {
      if (!byText.has(held.text)) byText.set(held.text, held);
      if (held.json !== undefined && !byText.has(held.json)) byText.set(held.json, held);
    }
    const outcomes = await Promise.allSettled(
      rows.map((row) => {
        const held = byText.get(row.original);
        if (held === undefined) return this.#publisher.publish(row);
        const letter: DeadLetterRow =
          row.code === SINK_REJECTED
            ? { ...row, original: held.text, input: held.decoded.input, receivedAt: held.decoded.receivedAt }
            : row;
        return this.#publisher.publish(letter, (byContent) => deadLetterId(held.msg.seq, byContent));
      }),
    );
    const failed = outcomes.find((o): o is PromiseRejectedResult => o.status === "rejected");
    if (failed !== undefined) throw failed.reason;
    return { inserted: 0, duplicates: 0, deadLetters: rows.length };
  }

  /**
   * Pulls until `close`: one fetch at a time, asking only for what there is room for, so that
   * every message pulled is held (and gets `working()`) and at most `#limit` are. Not the client's
   * `consume`, which pulls ahead into a buffer this loop cannot see: there a sink slow for longer
   * than the ack wait got messages redelivered that no one had started, and a stopped consume
   * left its pull open on the server, which sent messages naked at the stop into the closed
   * inbox (measured on 2.9.10), where they waited for the ack wait. A fetch ends by itself
   * (`FETCH_EXPIRES_MS`), so the stop waits for it and hands back what it still brought.
   */
  async #consume(): Promise<void> {
    const { js } = this.#broker;
    const { stream, consumer } = this.#settings;
    let attempt = 0;
    let source: Consumer | undefined;
    while (!this.#stopping && !this.#broker.nc.isClosed()) {
      try {
        await this.#room();
        if (this.#stopping) break;
        // Looked up once (a request), again only after a failure.
        source ??= await js.consumers.get(stream, consumer);
        if (this.#stopping) break;
        const batch = await source.fetch({
          max_messages: this.#limit - this.#held.size,
          expires: FETCH_EXPIRES_MS,
        });
        this.#fetching = batch;
        if (this.#stopping && !this.#connected) batch.stop();
        for await (const msg of batch) {
          if (this.#stopping) {
            // Not started: another worker may have it now rather than after the ack wait.
            msg.nak();
            this.#messages.naked.inc();
          } else this.#take(msg);
        }
        attempt = 0;
      } catch (err) {
        source = undefined;
        if (this.#stopping || this.#broker.nc.isClosed()) break;
        const wait = backoffDelay(attempt++, { baseMs: 500, capMs: 10_000 });
        this.#logger.warn({ err: message(err), waitMs: wait }, "pulling from the consumer failed: retrying");
        await sleep(wait, undefined, { signal: this.#stop.signal }).catch(() => {});
      }
    }
  }

  /**
   * Resolves once a quarter of `#limit` is free (or nothing is held) and the intake is not full
   * (its byte cap: long lines), or the worker stops.
   */
  #room(): Promise<void> {
    const free = (): boolean =>
      this.#stopping ||
      this.#held.size === 0 ||
      (!this.#intake.full && this.#limit - this.#held.size >= Math.ceil(this.#limit / 4));
    if (free()) return Promise.resolve();
    return new Promise<void>((resolve) => {
      const check = (): void => {
        if (!free()) return;
        this.#roomListeners.delete(check);
        resolve();
      };
      this.#roomListeners.add(check);
    });
  }

  get #stopping(): boolean {
    return this.#stop.signal.aborted;
  }

  /** A pulled message through the step; messages pulled together are submitted together. */
  #take(msg: JsMsg): void {
    this.#messages.received.inc();
    if (msg.redelivered) this.#messages.redelivered.inc();
    const text = msg.string();
    const decoded = decodeRaw(msg.subject, msg.headers, text, msg.time.toISOString());
    const submission = prepare([decoded.frame], {
      input: decoded.input,
      receivedAt: decoded.receivedAt,
      maxLineBytes: this.#config.maxLineBytes,
      original: this.#config.original,
      hosts: this.#hosts,
    });
    const held: Held = { msg, text, decoded, json: submission.docs[0]?.json, touched: Date.now() };
    this.#held.add(held);
    this.#group.push(held);
    this.#groupParts.push(submission);
    // One submission per burst of messages (up to GROUP_MAX): one promise, one settlement, and
    // their acks in one write to the socket, instead of one of each per message.
    if (this.#group.length >= GROUP_MAX) this.#submitGroup();
    else this.#groupTimer ??= setImmediate(() => this.#submitGroup());
  }

  #submitGroup(): void {
    if (this.#groupTimer !== undefined) clearImmediate(this.#groupTimer);
    this.#groupTimer = undefined;
    const group = this.#group;
    const parts = this.#groupParts;
    if (group.length === 0) return;
    this.#group = [];
    this.#groupParts = [];
    this.#messages.held.set(this.#held.size);
    const settled = this.#intake
      .submit(joined(parts))
      .then(
        () => {
          for (const held of group) held.msg.ack();
          this.#messages.acked.inc(group.length);
        },
        async (err: unknown) => {
          await Promise.all(group.map((held) => this.#failed(held, err)));
        },
      )
      .catch((err: unknown) => this.#logger.error({ err }, "settling messages failed"))
      .finally(() => {
        for (const held of group) this.#held.delete(held);
        this.#messages.held.set(this.#held.size);
        this.#settling.delete(settled);
        for (const listener of [...this.#roomListeners]) listener();
      });
    this.#settling.add(settled);
  }

  /** The sinks failed the message's batch: later again, or, at its last delivery, a dead letter. */
  async #failed(held: Held, err: unknown): Promise<void> {
    const { msg } = held;
    const deliveries = msg.info.deliveryCount;
    const reason = message(err);
    if (deliveries < this.#settings.max_deliver) {
      const delay = nakDelay(deliveries, this.#nakBackoff);
      msg.nak(delay);
      this.#messages.naked.inc();
      this.#logger.debug({ seq: msg.seq, deliveries, delayMs: delay, reason }, "message naked");
      return;
    }
    try {
      await this.#deadLetter(
        msg.seq,
        held.text,
        held.decoded,
        `not delivered in ${deliveries} deliveries; the last failure: ${reason}`,
      );
      // No reason: `+TERM <reason>` is understood from 2.11 on; 2.9.10 here took it for no
      // answer at all, and the ack wait then passed as if the worker had been lost.
      msg.term();
      this.#messages.terminated.inc();
      this.#logger.debug({ seq: msg.seq, deliveries, reason }, "message dead-lettered and terminated");
    } catch (letterErr) {
      // Left to the server: a nak at the last delivery makes it announce the message
      // (MAX_DELIVERIES), and a worker reading those tries the dead letter again.
      msg.nak();
      this.#messages.naked.inc();
      this.#logger.error(
        { seq: msg.seq, err: message(letterErr) },
        "a message past its last delivery could not be dead-lettered",
      );
    }
  }

  /** Publishes the message's ERR_DELIVERY_FAILED letter; false when the stream had it already. */
  async #deadLetter(seq: number, text: string, decoded: DecodedRaw, why: string): Promise<boolean> {
    const row: DeadLetterRow = {
      code: DELIVERY_FAILED,
      message: why,
      original: text,
      input: decoded.input,
      receivedAt: decoded.receivedAt,
    };
    const ack = await this.#publisher.publish(row, (byContent) => deadLetterId(seq, byContent));
    if (!ack.duplicate) this.#metrics.deadLetters.inc({ code: DELIVERY_FAILED });
    return !ack.duplicate;
  }

  /**
   * The messages whose last delivery no worker settled: the server announces each
   * (`$JS.EVENT.ADVISORY.CONSUMER.MAX_DELIVERIES.<stream>.<consumer>`); one worker of the queue
   * group reads it back and dead-letters it.
   */
  #watchMaxDeliveries(): void {
    const { stream, consumer } = this.#settings;
    const sub = this.#broker.nc.subscribe(
      `$JS.EVENT.ADVISORY.CONSUMER.MAX_DELIVERIES.${stream}.${consumer}`,
      {
        queue: `${consumer}-max-deliveries`,
      },
    );
    this.#advisories = sub;
    void (async () => {
      for await (const advisory of sub) {
        let seq: number | undefined;
        let deliveries: number | undefined;
        try {
          const body = advisory.json<{ stream_seq?: unknown; deliveries?: unknown }>();
          if (typeof body.stream_seq === "number") seq = body.stream_seq;
          if (typeof body.deliveries === "number") deliveries = body.deliveries;
        } catch {
          continue;
        }
        if (seq === undefined) continue;
        const at = seq;
        const task = this.#deadLetterStored(at, deliveries ?? this.#settings.max_deliver).catch(
          (err: unknown) =>
            this.#logger.error(
              { seq: at, err: message(err) },
              "a message past its last delivery could not be dead-lettered",
            ),
        );
        this.#settling.add(task);
        void task.finally(() => this.#settling.delete(task));
      }
    })().catch((err: unknown) =>
      this.#logger.warn({ err: message(err) }, "the MAX_DELIVERIES announcements cannot be read"),
    );
  }

  async #deadLetterStored(seq: number, deliveries: number): Promise<void> {
    const raw = await this.#broker.jsm.streams.getMessage(this.#settings.stream, { seq });
    if (raw === null) return;
    const text = raw.string();
    const decoded = decodeRaw(raw.subject, raw.header, text, raw.time.toISOString());
    const fresh = await this.#deadLetter(
      seq,
      text,
      decoded,
      `not settled in ${deliveries} deliveries (the last one's ack wait passed: a worker lost or stalled)`,
    );
    // A duplicate: the worker that held it dead-lettered it already.
    if (!fresh) return;
    this.#messages.terminated.inc();
    this.#logger.warn({ seq, deliveries }, "message past its last delivery dead-lettered");
  }

  #startTimers(): void {
    const ackWait = this.#settings.ack_wait;
    const working = setInterval(
      () => {
        const now = Date.now();
        for (const held of this.#held) {
          if (now - held.touched < ackWait / 2) continue;
          held.msg.working();
          held.touched = now;
          this.#messages.working.inc();
        }
      },
      Math.max(50, Math.floor(ackWait / 4)),
    );
    working.unref();
    const hostTimer = setInterval(() => void this.#saveHosts(), HOST_SAVE_MS);
    hostTimer.unref();
    this.#cleanups.push(async () => {
      clearInterval(working);
      clearInterval(hostTimer);
    });
  }

  async #saveHosts(): Promise<void> {
    const rows = this.#hosts.takeChanges();
    const store = this.#store;
    if (rows.length === 0 || store?.saveHosts === undefined) return;
    // Not part of any acknowledgement: a fact lost here comes again with the host's next inventory row.
    await store.saveHosts(rows).catch((err: unknown) => this.#logger.warn({ err }, "host table not saved"));
  }

  #watchConnection(): void {
    void (async () => {
      for await (const status of this.#broker.nc.status()) {
        if (status.type === "disconnect") this.#connected = false;
        else if (status.type === "reconnect") this.#connected = true;
      }
    })().catch(() => {});
  }

  async #listen(address: ListenAddress): Promise<void> {
    const app = fastify({ logger: false });
    app.get("/metrics", async (_request, reply) =>
      reply.type(this.#metrics.registry.contentType).send(await this.#metrics.registry.metrics()),
    );
    app.get("/healthz", async (_request, reply) => {
      const held = this.#held.size;
      if (this.#closing !== undefined)
        return reply.code(503).send({ status: "draining", reason: "The worker is stopping.", held });
      if (!this.#connected)
        return reply.code(503).send({
          status: "nats_disconnected",
          reason: "The connection to NATS is lost; reconnecting.",
          held,
        });
      const failing = this.#sinks.find((sink) => !sink.health().ok);
      const last = this.#intake.lastCommit;
      const sink = failing?.name ?? (last.ok ? undefined : last.sink);
      if (sink !== undefined || !last.ok) {
        return reply.code(503).send({
          status: "sink_failing",
          reason: "A sink fails: messages are naked and come again later.",
          ...(sink === undefined ? {} : { sink: { name: sink, ok: false } }),
          held,
        });
      }
      return reply.send({ status: "ok", consumer: this.#settings.consumer, held });
    });
    try {
      await app.listen({ host: address.host, port: address.port });
    } catch (err) {
      await app.close().catch(() => {});
      throw new ConfigError(`--metrics ${formatAddress(address)}: ${message(err)}`);
    }
    const bound = app.server.address() as AddressInfo;
    this.#metricsAddress = formatAddress({ host: address.host, port: bound.port });
    this.#cleanups.push(() => app.close());
  }

  close(): Promise<void> {
    this.#closing ??= (async () => {
      this.#logger.info(
        { held: this.#held.size },
        "stopping: no more pulls, settling the messages in flight",
      );
      this.#stop.abort();
      // The pull under way ends by itself (its expiry) and what it brings is naked; but a pull
      // does not expire while the connection is lost, nor need it then: nothing more can come.
      if (!this.#connected) this.#fetching?.stop();
      const stuck = setTimeout(() => this.#fetching?.stop(), FETCH_EXPIRES_MS + 1000);
      // Other workers of the queue group take the announcements from now on.
      this.#advisories?.unsubscribe();
      for (const listener of [...this.#roomListeners]) listener();
      // Bounded: a request to a lost server (the consumer's lookup) waits for its timeout, and
      // no message is held by the loop meanwhile.
      let bound: NodeJS.Timeout | undefined;
      await Promise.race([
        this.#consumeLoop,
        new Promise((resolve) => (bound = setTimeout(resolve, FETCH_EXPIRES_MS + 2000))),
      ]);
      clearTimeout(bound);
      clearTimeout(stuck);
      this.#submitGroup();
      // What is in flight settles (acked, or naked when its sinks fail), each within deliverTimeoutMs.
      while (this.#settling.size > 0) await Promise.allSettled([...this.#settling]);
      await this.#intake.drain();
      await this.#saveHosts();
      const stats = { acked: await counterValue(this.#messages.acked) };
      // Sinks, the store, the metrics listener, then the connection: drained, so the last acks go out.
      for (const cleanup of this.#cleanups.splice(0).reverse()) await cleanup().catch(() => {});
      this.#logger.info(stats, "stopped: every message in flight is settled");
    })();
    return this.#closing;
  }
}

async function counterValue(counter: Counter): Promise<number> {
  const data = await counter.get();
  return data.values[0]?.value ?? 0;
}

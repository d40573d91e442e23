/**
 * @module delivery/splunk/sink
 * The Splunk HTTP Event Collector sink: batches of events as concatenated JSON objects on
 * `POST /services/collector/event`, each HEC answer settling (or retrying) the events it concerns,
 * and, with `ack`, indexer acknowledgement before an event counts as delivered.
 *
 * HEC has no idempotency key: a request sent again after a lost answer, a lost acknowledgement or
 * a partial failure may index an event twice. Every event therefore carries its `event.id` as an
 * indexed field (`fields`), so that searches can dedupe (`| dedup event.id`); no settlement is
 * ever `duplicate`, since HEC cannot tell.
 */
import { randomUUID } from "node:crypto";
import { setMaxListeners } from "node:events";
import { readFileSync } from "node:fs";
import { setTimeout as sleep } from "node:timers/promises";
import { promisify } from "node:util";
import { gzip as gzipCallback } from "node:zlib";
import { Agent, request } from "undici";
import { retryWait } from "../backoff.ts";
import type { OutEvent } from "../event.ts";
import {
  DELIVERED,
  rejected,
  SinkError,
  type EventSink,
  type SinkContext,
  type SinkFactory,
  type SinkHealth,
  type Settlement,
} from "../sink.ts";
import { AckPoller } from "./acks.ts";
import type { SplunkHecSettings } from "./settings.ts";

const gzip = promisify(gzipCallback);

const EVENT_PATH = "/services/collector/event";
const ACK_PATH = "/services/collector/ack";
const HEALTH_PATH = "/services/collector/health";

/**
 * HEC status codes (Splunk docs, "Troubleshoot HTTP Event Collector", HEC error codes) that say
 * nothing about the events of a 400: no data (5), data channel missing (10) or invalid (11), ACK
 * is disabled (14), query string authorization not enabled (16). A configuration fault: the
 * request is retried with backoff, its events never dead-lettered.
 */
const REQUEST_FAULT_CODES: ReadonlySet<number> = new Set([5, 10, 11, 14, 16]);
const TOKEN_REFUSED = "the HEC token was refused";

/** One event as it goes on the wire, with its place in the `deliver` call. */
interface Item {
  readonly at: number;
  readonly line: string;
  readonly bytes: number;
}

/** A HEC answer: status, and the JSON fields HEC puts in its body. */
interface HecAnswer {
  readonly status: number;
  readonly text: string;
  readonly code: number | undefined;
  readonly invalidEvent: number | undefined;
  readonly ackId: number | undefined;
  readonly retryAfter: string | undefined;
  readonly body: unknown;
}

type Outcome =
  | { readonly kind: "ok"; readonly ackId: number | undefined }
  | {
      readonly kind: "retry";
      readonly message: string;
      readonly retryAfter?: string;
      readonly token?: boolean;
    }
  | {
      readonly kind: "partial";
      readonly index: number;
      readonly reason: string;
      readonly ackId: number | undefined;
    }
  | { readonly kind: "bad"; readonly reason: string };

function field(body: unknown, name: string): unknown {
  return typeof body === "object" && body !== null ? (body as Record<string, unknown>)[name] : undefined;
}

function integer(value: unknown): number | undefined {
  if (typeof value === "number" && Number.isInteger(value)) return value;
  if (typeof value === "string" && /^\d+$/.test(value)) return Number(value);
  return undefined;
}

function describe(answer: HecAnswer): string {
  const code = answer.code === undefined ? "" : `code ${answer.code}: `;
  return `HEC answered ${answer.status} (${code}${answer.text || "no text"})`;
}

function errorText(err: unknown): string {
  if (!(err instanceof Error)) return String(err);
  const cause = err.cause instanceof Error ? `: ${err.cause.message}` : "";
  return `${err.message}${cause}`;
}

/** The URL for messages: no user info, no query (nothing secret). */
function displayUrl(url: URL): string {
  return `${url.protocol}//${url.host}${url.pathname === "/" ? "" : url.pathname}`;
}

/** Waits for one of `size` slots, so that at most `size` requests await an answer at once. */
class Slots {
  private free: number;
  private readonly queue: (() => void)[] = [];
  constructor(size: number) {
    this.free = size;
  }
  async acquire(signal: AbortSignal): Promise<void> {
    if (signal.aborted) throw signal.reason;
    if (this.free > 0) {
      this.free--;
      return;
    }
    await new Promise<void>((resolve, reject) => {
      const grant = (): void => {
        signal.removeEventListener("abort", onAbort);
        resolve();
      };
      const onAbort = (): void => {
        const i = this.queue.indexOf(grant);
        if (i >= 0) this.queue.splice(i, 1);
        reject(signal.reason);
      };
      signal.addEventListener("abort", onAbort, { once: true });
      this.queue.push(grant);
    });
  }
  release(): void {
    const next = this.queue.shift();
    if (next !== undefined) next();
    else this.free++;
  }
}

class SplunkHecSink implements EventSink {
  readonly kind = "splunk_hec";
  readonly name: string;
  private readonly settings: SplunkHecSettings;
  private readonly context: SinkContext;
  private readonly base: string;
  private readonly url: string;
  private readonly agent: Agent;
  /** One channel per sink instance (HEC tracks ack ids per channel). */
  private readonly channel = randomUUID();
  private readonly stopper = new AbortController();
  private readonly slots: Slots;
  private readonly acks: AckPoller;
  private readonly active = new Set<Promise<unknown>>();
  private closed = false;
  private failingSince: number | undefined;
  private lastError: string | undefined;
  /** The failure last logged in the current run, so that a retry loop logs once. */
  private logged: string | undefined;
  private warnedNoAckId = false;

  constructor(name: string, settings: SplunkHecSettings, context: SinkContext) {
    this.name = name;
    this.settings = settings;
    this.context = context;
    const parsed = new URL(settings.url);
    this.url = displayUrl(parsed);
    this.base = `${parsed.origin}${parsed.pathname.replace(/\/+$/, "")}`;
    const ca = settings.ca_file === undefined ? undefined : readFileSync(settings.ca_file, "utf8");
    this.agent = new Agent({
      connections: settings.max_in_flight + 1,
      ...(ca === undefined ? {} : { connect: { ca } }),
    });
    // Every wait (backoff, slot, request, ack) listens to the stop signal: many at once is normal.
    setMaxListeners(0, this.stopper.signal);
    this.slots = new Slots(settings.max_in_flight);
    this.acks = new AckPoller({
      query: (ids, signal) => this.queryAcks(ids, signal),
      intervalMs: settings.ack_poll_interval,
      stop: this.stopper.signal,
      onError: (err) => this.fail(`polling acknowledgements failed: ${errorText(err)}`),
    });
  }

  async start(): Promise<void> {
    const health = await this.startCall("GET", HEALTH_PATH);
    if (health.status === 503) {
      throw new SinkError("unhealthy", `Splunk HEC at ${this.url} is unhealthy: ${health.text}`);
    }
    if (health.status !== 200) {
      throw new SinkError(
        "not_hec",
        `${this.url} does not answer as a Splunk HEC: GET ${HEALTH_PATH} answered ${health.status}`,
      );
    }
    // An empty batch is an error in HEC (code 5, "No data") once the token is accepted: the token
    // check without indexing anything.
    const probe = await this.startCall("POST", EVENT_PATH, "");
    if (probe.status === 401 || probe.status === 403) {
      throw new SinkError("token_refused", `${TOKEN_REFUSED} by ${this.url}: ${describe(probe)}`);
    }
    if (probe.code === 10 && !this.settings.ack) {
      throw new SinkError(
        "ack_required",
        `the HEC token has indexer acknowledgement enabled (${describe(probe)}): set ack: true, or disable it on the token`,
      );
    }
    if (probe.code !== 5 && probe.status !== 200) {
      throw new SinkError("token_check", `the HEC at ${this.url} refused an empty batch: ${describe(probe)}`);
    }
    if (this.settings.ack) {
      const ack = await this.startCall("POST", `${ACK_PATH}?channel=${this.channel}`, '{"acks":[0]}');
      if (ack.status !== 200) {
        const disabled = ack.code === 14 ? " (enable it on the HEC token, or set ack: false)" : "";
        throw new SinkError(
          "ack_disabled",
          `indexer acknowledgement does not work on ${this.url}: ${describe(ack)}${disabled}`,
        );
      }
    }
  }

  async deliver(events: readonly OutEvent[], signal?: AbortSignal): Promise<Settlement[]> {
    if (this.closed) throw this.stopError();
    if (events.length === 0) return [];
    const stop = signal === undefined ? this.stopper.signal : AbortSignal.any([this.stopper.signal, signal]);
    setMaxListeners(0, stop);
    const results: (Settlement | undefined)[] = new Array<Settlement | undefined>(events.length);
    const work = this.batches(events.map((event, at) => this.item(event, at))).map((batch) =>
      this.settle(batch, results, stop),
    );
    const all = Promise.allSettled(work);
    this.active.add(all);
    try {
      const outcomes = await all;
      const failure = outcomes.find((o) => o.status === "rejected");
      if (failure !== undefined) throw this.stopError(failure.reason);
    } finally {
      this.active.delete(all);
    }
    return results.map((settlement, at) => {
      if (settlement === undefined) throw new SinkError("unsettled", `event ${at} was left unsettled`);
      return settlement;
    });
  }

  health(): SinkHealth {
    return {
      ok: this.failingSince === undefined,
      ...(this.failingSince === undefined ? {} : { failingSince: this.failingSince }),
      ...(this.lastError === undefined ? {} : { lastError: this.lastError }),
    };
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    // Backoff waits, ack waits and requests in flight end now: their `deliver` rejects, and the
    // pipeline sends those events again later (at least once).
    this.stopper.abort(new SinkError("closed", `the Splunk HEC sink ${this.name} is closed`));
    await Promise.race([Promise.allSettled([...this.active]), sleep(5000, undefined, { ref: false })]);
    await this.agent.close().catch(() => this.agent.destroy());
  }

  private stopError(cause?: unknown): SinkError {
    if (cause instanceof SinkError) return cause;
    if (this.closed) return new SinkError("closed", `the Splunk HEC sink ${this.name} is closed`, { cause });
    return new SinkError("aborted", `delivery to the Splunk HEC sink ${this.name} was aborted`, { cause });
  }

  /** The event as one HEC object; its ECS document's text is spliced in, not parsed again. */
  private item(event: OutEvent, at: number): Item {
    const s = this.settings;
    let line = "{";
    if (event.timestamp !== undefined) line += `"time":${(event.timestamp / 1000).toFixed(3)},`;
    if (s.host_field === "event" && event.host !== undefined) line += `"host":${JSON.stringify(event.host)},`;
    line += `"source":${JSON.stringify(s.source)},"sourcetype":${JSON.stringify(s.sourcetype)},`;
    if (s.index !== undefined) line += `"index":${JSON.stringify(s.index)},`;
    line += `"event":${event.json},"fields":{"event.id":${JSON.stringify(event.id)}}}`;
    return { at, line, bytes: Buffer.byteLength(line) };
  }

  private batches(items: readonly Item[]): Item[][] {
    const out: Item[][] = [];
    let batch: Item[] = [];
    let bytes = 0;
    for (const item of items) {
      const full =
        batch.length >= this.settings.max_batch_events ||
        (batch.length > 0 && bytes + item.bytes > this.settings.max_batch_bytes);
      if (full) {
        out.push(batch);
        batch = [];
        bytes = 0;
      }
      batch.push(item);
      bytes += item.bytes;
    }
    if (batch.length > 0) out.push(batch);
    return out;
  }

  /** Sends `batch` until each of its events is settled in `results`; throws only on stop. */
  private async settle(
    batch: readonly Item[],
    results: (Settlement | undefined)[],
    stop: AbortSignal,
  ): Promise<void> {
    const metrics = this.context.metrics;
    const settleAll = (items: readonly Item[], settlement: Settlement): void => {
      for (const item of items) results[item.at] = settlement;
      if (settlement.status === "delivered") metrics.delivered.inc(items.length);
    };
    let pending = batch;
    let attempt = 0;
    while (pending.length > 0) {
      if (stop.aborted) throw stop.reason;
      const outcome = await this.send(pending, stop);
      if (stop.aborted) throw stop.reason;
      if (outcome.kind === "retry") {
        this.fail(outcome.message, outcome.token === true);
        metrics.retried.inc(pending.length);
        const wait = retryWait(attempt++, outcome.retryAfter, {
          maxMs: this.settings.retry_max_wait * 1000,
        });
        await sleep(wait, undefined, { signal: stop });
        continue;
      }
      this.succeed();
      if (outcome.kind === "ok") {
        if (await this.acknowledged(outcome.ackId, stop)) {
          settleAll(pending, DELIVERED);
          return;
        }
        if (stop.aborted) throw stop.reason;
        this.fail(`no acknowledgement within ${this.settings.ack_timeout} s: the request is sent again`);
        metrics.retried.inc(pending.length);
        continue;
      }
      if (outcome.kind === "partial") {
        // HEC indexed the events before the bad one and none after it
        // (opentelemetry-collector-contrib#36113). With acks the answer carries no ackId, so the
        // events before it cannot be confirmed: they are sent again with the rest.
        const before = pending.slice(0, outcome.index);
        const bad = pending[outcome.index];
        const after = pending.slice(outcome.index + 1);
        if (bad !== undefined) {
          results[bad.at] = rejected(outcome.reason);
          metrics.rejected.inc();
        }
        const confirmed = !this.settings.ack || (await this.acknowledged(outcome.ackId, stop, false));
        if (confirmed) {
          settleAll(before, DELIVERED);
          pending = after;
        } else {
          pending = [...before, ...after];
        }
        metrics.retried.inc(pending.length);
        attempt = 0;
        continue;
      }
      // A 400 that names no event (or a 413): halves, until the bad event is alone.
      if (pending.length === 1) {
        const only = pending[0] as Item;
        results[only.at] = rejected(outcome.reason);
        metrics.rejected.inc();
        return;
      }
      const half = Math.ceil(pending.length / 2);
      metrics.retried.inc(pending.length);
      const halves = await Promise.allSettled([
        this.settle(pending.slice(0, half), results, stop),
        this.settle(pending.slice(half), results, stop),
      ]);
      const failure = halves.find((h) => h.status === "rejected");
      if (failure !== undefined) throw failure.reason;
      return;
    }
  }

  /**
   * Whether the request of `ackId` is indexed: true at once without `ack`; with `ack`, when the
   * ack poll says so (false on timeout or stop). A success without an ackId (a token whose
   * acknowledgement was turned off since start) cannot be confirmed: `whenNoId`, with a warning.
   */
  private async acknowledged(
    ackId: number | undefined,
    stop: AbortSignal,
    whenNoId = true,
  ): Promise<boolean> {
    if (!this.settings.ack) return true;
    if (ackId === undefined) {
      if (whenNoId && !this.warnedNoAckId) {
        this.warnedNoAckId = true;
        this.context.logger.warn(
          { sink: this.name },
          "HEC answered success without an ackId: indexer acknowledgement is off on the token, events are counted delivered unconfirmed",
        );
      }
      return whenNoId;
    }
    return this.acks.wait(ackId, this.settings.ack_timeout * 1000, stop);
  }

  /** One POST of `items`, its answer read as what it means for them. */
  private async send(items: readonly Item[], stop: AbortSignal): Promise<Outcome> {
    const text = items.map((i) => i.line).join("");
    const body = this.settings.compression ? await gzip(text) : text;
    await this.slots.acquire(stop);
    let answer: HecAnswer;
    try {
      answer = await this.call("POST", EVENT_PATH, body, stop);
    } catch (err) {
      if (stop.aborted) throw stop.reason;
      // The request may have been indexed before the connection went: at least once.
      return { kind: "retry", message: `no answer from ${this.url}: ${errorText(err)}` };
    } finally {
      this.slots.release();
    }
    const { status, code } = answer;
    if (status === 200 && (code === undefined || code === 0)) return { kind: "ok", ackId: answer.ackId };
    if (status === 401 || status === 403) {
      return { kind: "retry", message: `${TOKEN_REFUSED}: ${describe(answer)}`, token: true };
    }
    if (status === 400 && (code === undefined || !REQUEST_FAULT_CODES.has(code))) {
      const index = answer.invalidEvent;
      const reason = `Splunk HEC: ${answer.text || "invalid event"}${code === undefined ? "" : ` (code ${code})`}`;
      if (index !== undefined && index >= 0 && index < items.length) {
        return { kind: "partial", index, reason, ackId: answer.ackId };
      }
      return { kind: "bad", reason };
    }
    if (status === 413) {
      return {
        kind: "bad",
        reason: `Splunk HEC: the event is larger than the HEC accepts (${describe(answer)})`,
      };
    }
    // 429, 503 code 9 (server busy), other 5xx, and 4xx that are the configuration's fault.
    return {
      kind: "retry",
      message: describe(answer),
      ...(answer.retryAfter === undefined ? {} : { retryAfter: answer.retryAfter }),
    };
  }

  private async queryAcks(ids: readonly number[], signal: AbortSignal): Promise<Record<string, unknown>> {
    const answer = await this.call(
      "POST",
      `${ACK_PATH}?channel=${this.channel}`,
      JSON.stringify({ acks: ids }),
      signal,
    );
    const acks = field(answer.body, "acks");
    if (answer.status !== 200 || typeof acks !== "object" || acks === null) {
      throw new Error(describe(answer));
    }
    return acks as Record<string, unknown>;
  }

  private async startCall(method: "GET" | "POST", path: string, body?: string): Promise<HecAnswer> {
    try {
      return await this.call(method, path, body, this.stopper.signal);
    } catch (err) {
      throw new SinkError("unreachable", `Splunk HEC at ${this.url} is unreachable: ${errorText(err)}`, {
        cause: err,
      });
    }
  }

  private async call(
    method: "GET" | "POST",
    path: string,
    body: string | Buffer | undefined,
    signal: AbortSignal,
  ): Promise<HecAnswer> {
    const headers: Record<string, string> = { authorization: `Splunk ${this.settings.token}` };
    if (this.settings.ack) headers["x-splunk-request-channel"] = this.channel;
    if (body !== undefined) {
      headers["content-type"] = "application/json";
      if (typeof body !== "string") headers["content-encoding"] = "gzip";
    }
    const timeout = this.settings.request_timeout * 1000;
    const response = await request(`${this.base}${path}`, {
      dispatcher: this.agent,
      method,
      headers,
      body,
      signal,
      headersTimeout: timeout,
      bodyTimeout: timeout,
    });
    const raw = await response.body.text();
    let parsed: unknown;
    try {
      parsed = JSON.parse(raw);
    } catch {
      parsed = undefined;
    }
    const text = field(parsed, "text");
    const retryAfter = response.headers["retry-after"];
    return {
      status: response.statusCode,
      text: typeof text === "string" ? text : raw.slice(0, 200),
      code: integer(field(parsed, "code")),
      invalidEvent: integer(field(parsed, "invalid-event-number")),
      ackId: integer(field(parsed, "ackId")),
      retryAfter: Array.isArray(retryAfter) ? retryAfter[0] : retryAfter,
      body: parsed,
    };
  }

  /** A failing run begins or goes on; logged when its message changes (no log per retry). */
  private fail(message: string, tokenRefused = false): void {
    this.failingSince ??= Date.now();
    if (message !== this.logged) {
      this.logged = message;
      const log = { sink: this.name, url: this.url };
      if (tokenRefused) this.context.logger.error(log, `${TOKEN_REFUSED}: check the token (${message})`);
      else this.context.logger.warn(log, `Splunk HEC delivery failed, retrying: ${message}`);
    }
    this.lastError = message;
  }

  private succeed(): void {
    if (this.failingSince === undefined) return;
    this.context.logger.info({ sink: this.name, url: this.url }, "Splunk HEC delivery recovered");
    this.failingSince = undefined;
    this.logged = undefined;
  }
}

export const splunkHecSink: SinkFactory<SplunkHecSettings> = (name, settings, context) =>
  new SplunkHecSink(name, settings, context);

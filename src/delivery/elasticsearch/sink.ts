/**
 * @module delivery/elasticsearch/sink
 * The Elasticsearch / OpenSearch sink: `_bulk` `create` requests keyed by `event.id`, so that any
 * resend (a timeout, a lost connection, a retried item) is idempotent (a second `create` of the
 * same `_id` answers 409). One implementation for both products, over undici.
 */
import { readFileSync } from "node:fs";
import { promisify } from "node:util";
import { gzip as gzipCallback, constants as zlib } from "node:zlib";
import { Agent, request, type Dispatcher } from "undici";
import { retryWait } from "../backoff.ts";
import type { OutEvent } from "../event.ts";
import {
  DELIVERED,
  DUPLICATE,
  rejected,
  SinkError,
  type EventSink,
  type SinkContext,
  type SinkFactory,
  type SinkHealth,
  type Settlement,
} from "../sink.ts";
import { dataStreamMember, dataStreamName, streamDataset, withMember } from "./routing.ts";
import type { ElasticsearchSettings } from "./settings.ts";
import { atLeast, indexTemplate, lifecyclePolicy, type Cluster, type Product } from "./template.ts";

const gzip = promisify(gzipCallback);

/** Keeps the bulk answer to what is read: an item's status and error (Elasticsearch's `filter_path`). */
const BULK_PATH = "/_bulk?filter_path=errors,items.*.status,items.*.error";

/** A reason is kept to about 1 KB: a mapping error can quote a whole field's value. */
const REASON_LIMIT = 1024;

/** One event on its way: its place in the `deliver` call and its two NDJSON lines. */
interface Item {
  readonly slot: number;
  readonly event: OutEvent;
  readonly lines: string;
  readonly bytes: number;
  /** Sent in a request whose answer was lost: a later 409 is most likely our own first copy. */
  inDoubt: boolean;
}

/** What one bulk request came to. */
type Outcome =
  | { readonly kind: "items"; readonly statuses: readonly ItemAnswer[] }
  | { readonly kind: "too_large" }
  | {
      readonly kind: "retry";
      readonly reason: string;
      readonly retryAfter?: string | undefined;
      readonly inDoubt: boolean;
      readonly auth: boolean;
    }
  | { readonly kind: "reject"; readonly reason: string };

interface ItemAnswer {
  readonly status: number;
  readonly reason?: string | undefined;
}

function cut(text: string): string {
  return text.length <= REASON_LIMIT ? text : `${text.slice(0, REASON_LIMIT - 1)}…`;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** `type: reason (caused by type: reason)` of an Elasticsearch error object. */
export function errorReason(error: unknown): string {
  if (!isRecord(error)) return typeof error === "string" ? cut(error) : "unknown error";
  let text = `${String(error.type ?? "error")}: ${String(error.reason ?? "")}`.trim();
  const cause = error.caused_by;
  if (isRecord(cause)) text += ` (caused by ${String(cause.type ?? "error")}: ${String(cause.reason ?? "")})`;
  return cut(text);
}

/** The error of a whole-request answer, in words. */
function answerReason(status: number, text: string): string {
  try {
    const body: unknown = JSON.parse(text);
    if (isRecord(body) && body.error !== undefined) return cut(`${status} ${errorReason(body.error)}`);
  } catch {
    // not JSON: a proxy's page
  }
  return cut(`${status} ${text.replace(/\s+/g, " ").trim().slice(0, 200)}`.trim());
}

/** Requests at once: a counting semaphore whose waiters leave when `signal` aborts. */
class Gate {
  private free: number;
  private readonly waiting: (() => void)[] = [];
  constructor(size: number) {
    this.free = size;
  }
  async enter(signal: AbortSignal): Promise<void> {
    if (this.free > 0) {
      this.free -= 1;
      return;
    }
    await new Promise<void>((resolve, reject) => {
      const onAbort = (): void => {
        const at = this.waiting.indexOf(wake);
        if (at >= 0) this.waiting.splice(at, 1);
        reject(signal.reason as Error);
      };
      const wake = (): void => {
        signal.removeEventListener("abort", onAbort);
        resolve();
      };
      if (signal.aborted) return onAbort();
      signal.addEventListener("abort", onAbort, { once: true });
      this.waiting.push(wake);
    });
  }
  leave(): void {
    const next = this.waiting.shift();
    if (next === undefined) this.free += 1;
    else next();
  }
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(signal.reason as Error);
    const timer = setTimeout(() => {
      signal.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(signal.reason as Error);
    };
    signal.addEventListener("abort", onAbort, { once: true });
  });
}

function errorCode(error: unknown): string {
  let current: unknown = error;
  for (let depth = 0; depth < 4 && isRecord(current); depth++) {
    if (typeof current.code === "string") return current.code;
    current = current.cause;
  }
  return "";
}

function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** Words for a request that got no answer (no secret: undici's messages carry no header). */
function networkReason(error: unknown, where: string, timeoutSeconds: number, timedOut: boolean): string {
  if (timedOut) return `no answer from ${where} within ${timeoutSeconds} s`;
  const code = errorCode(error);
  if (code === "ECONNREFUSED") return `cannot reach ${where}: connection refused`;
  if (code === "ENOTFOUND" || code === "EAI_AGAIN")
    return `cannot reach ${where}: its host name does not resolve (DNS)`;
  if (/CERT|TLS|SSL|SELF_SIGNED|UNABLE_TO_VERIFY|ERR_SSL/.test(code)) {
    return `TLS with ${where} failed (${code}: ${errorMessage(error)}); is ca_file the authority that signed its certificate?`;
  }
  return `lost the connection to ${where} (${code || errorMessage(error)})`;
}

class ElasticsearchSink implements EventSink {
  readonly kind = "elasticsearch";
  private readonly agent: Agent;
  private readonly base: string;
  /** The address without credentials or query, for messages. */
  private readonly where: string;
  private readonly headers: Record<string, string>;
  private readonly gate: Gate;
  private readonly closing = new AbortController();
  private readonly members = new Map<string, { index: string; member: string }>();
  private cluster: Cluster | undefined;
  private failingSince: number | undefined;
  private lastError: string | undefined;
  private loggedError: string | undefined;
  private closed = false;

  readonly name: string;
  private readonly settings: ElasticsearchSettings;
  private readonly context: SinkContext;

  constructor(name: string, settings: ElasticsearchSettings, context: SinkContext) {
    this.name = name;
    this.settings = settings;
    this.context = context;
    const url = new URL(settings.url);
    this.base = `${url.origin}${url.pathname.replace(/\/+$/, "")}`;
    this.where = this.base;
    const ca = settings.ca_file === undefined ? undefined : readFileSync(settings.ca_file, "utf8");
    this.agent = new Agent({
      connections: settings.max_in_flight + 1,
      connect: ca === undefined ? {} : { ca },
      headersTimeout: settings.request_timeout * 1000,
      bodyTimeout: settings.request_timeout * 1000,
    });
    this.headers = { accept: "application/json" };
    const auth = settings.auth;
    if (auth !== undefined) {
      if ("api_key" in auth) this.headers.authorization = `ApiKey ${auth.api_key}`;
      else if ("bearer" in auth) this.headers.authorization = `Bearer ${auth.bearer}`;
      else {
        const pair = Buffer.from(`${auth.username}:${auth.password}`).toString("base64");
        this.headers.authorization = `Basic ${pair}`;
      }
    }
    this.gate = new Gate(settings.max_in_flight);
  }

  /** What the server refused, by the credentials the settings give. */
  private refusedCredentials(status: number): string {
    const auth = this.settings.auth;
    const what =
      auth === undefined
        ? "no credentials were given and the cluster asks for them"
        : "api_key" in auth
          ? "the API key was refused"
          : "bearer" in auth
            ? "the bearer token was refused"
            : `the password of user ${auth.username} was refused`;
    return status === 403 ? `${what} (403: not allowed)` : `${what} (401)`;
  }

  health(): SinkHealth {
    if (this.failingSince === undefined) return { ok: true };
    return { ok: false, failingSince: this.failingSince, lastError: this.lastError };
  }

  private failed(reason: string, level: "warn" | "error" = "warn"): void {
    this.failingSince ??= Date.now();
    this.lastError = reason;
    if (this.loggedError !== reason) {
      this.loggedError = reason;
      this.context.logger[level]({ sink: this.name }, `${this.name}: ${reason}; retrying`);
    }
  }

  private succeeded(): void {
    if (this.failingSince !== undefined) {
      this.context.logger.info({ sink: this.name }, `${this.name}: delivering again`);
    }
    this.failingSince = undefined;
    this.lastError = undefined;
    this.loggedError = undefined;
  }

  /** One HTTP exchange; throws what undici throws (no answer). */
  private async call(
    method: Dispatcher.HttpMethod,
    path: string,
    options: { body?: Buffer | string; headers?: Record<string, string>; signal: AbortSignal },
  ): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; text: string }> {
    const response = await request(`${this.base}${path}`, {
      method,
      dispatcher: this.agent,
      headers: { ...this.headers, ...options.headers },
      body: options.body,
      signal: options.signal,
    });
    const text = await response.body.text();
    return { status: response.statusCode, headers: response.headers, text };
  }

  private async callJson(
    method: Dispatcher.HttpMethod,
    path: string,
    body?: unknown,
  ): Promise<{ status: number; text: string; json: unknown }> {
    const signal = AbortSignal.any([
      this.closing.signal,
      AbortSignal.timeout(this.settings.request_timeout * 1000),
    ]);
    const answer = await this.call(method, path, {
      signal,
      ...(body === undefined
        ? {}
        : { body: JSON.stringify(body), headers: { "content-type": "application/json" } }),
    });
    let json: unknown;
    try {
      json = JSON.parse(answer.text);
    } catch {
      json = undefined;
    }
    return { status: answer.status, text: answer.text, json };
  }

  async start(): Promise<void> {
    let answer: { status: number; text: string; json: unknown; product?: string };
    try {
      const signal = AbortSignal.any([
        this.closing.signal,
        AbortSignal.timeout(this.settings.request_timeout * 1000),
      ]);
      const raw = await this.call("GET", "/", { signal });
      let json: unknown;
      try {
        json = JSON.parse(raw.text);
      } catch {
        json = undefined;
      }
      const header = raw.headers["x-elastic-product"];
      answer = { ...raw, json, product: typeof header === "string" ? header : undefined };
    } catch (error) {
      const timedOut =
        errorCode(error) === "UND_ERR_HEADERS_TIMEOUT" || (error as Error).name === "TimeoutError";
      throw new SinkError(
        "es_unreachable",
        `${this.name}: ${networkReason(error, this.where, this.settings.request_timeout, timedOut)}`,
        {
          cause: error,
        },
      );
    }
    if (answer.status === 401 || answer.status === 403) {
      throw new SinkError(
        "es_auth",
        `${this.name}: ${this.where}: ${this.refusedCredentials(answer.status)}`,
      );
    }
    this.cluster = this.identify(answer);
    this.context.logger.info(
      { sink: this.name, product: this.cluster.product, version: this.cluster.version },
      `${this.name}: ${this.cluster.product === "opensearch" ? "OpenSearch" : "Elasticsearch"} ${this.cluster.version} at ${this.where}`,
    );
    if (this.settings.install_template) await this.install(this.cluster);
  }

  private identify(answer: { status: number; text: string; json: unknown; product?: string }): Cluster {
    const notIt = (why: string): SinkError =>
      new SinkError(
        "es_not_elasticsearch",
        `${this.name}: ${this.where} is not Elasticsearch or OpenSearch (${why})`,
      );
    if (answer.status !== 200) throw notIt(`GET / answered ${answerReason(answer.status, answer.text)}`);
    const body = answer.json;
    const version = isRecord(body) && isRecord(body.version) ? body.version : undefined;
    const number = version?.number;
    if (!isRecord(body) || version === undefined || typeof number !== "string" || !/^\d+\.\d+/.test(number)) {
      throw notIt("GET / gave no version.number");
    }
    let product: Product;
    if (version.distribution === "opensearch") product = "opensearch";
    else if (body.tagline === "You Know, for Search" || answer.product === "Elasticsearch")
      product = "elasticsearch";
    else throw notIt(`unknown product, tagline ${JSON.stringify(body.tagline ?? null)}`);
    const cluster: Cluster = { product, version: number };
    if (product === "elasticsearch" && !atLeast(number, 7, 10)) {
      throw new SinkError(
        "es_version",
        `${this.name}: Elasticsearch ${number} is too old; 7.10 or later is needed`,
      );
    }
    if (product === "opensearch" && !atLeast(number, 1, 0)) {
      throw new SinkError(
        "es_version",
        `${this.name}: OpenSearch ${number} is too old; 1.0 or later is needed`,
      );
    }
    return cluster;
  }

  private async install(cluster: Cluster): Promise<void> {
    const options = {
      cluster,
      prefix: this.settings.dataset_prefix,
      index: this.settings.index,
      lifecycle: this.settings.lifecycle,
    };
    const fail = (what: string, status: number, text: string): SinkError =>
      new SinkError(
        "es_template",
        `${this.name}: installing ${what} failed: ${status === 401 || status === 403 ? this.refusedCredentials(status) + ": " : ""}${answerReason(status, text)}`,
      );
    try {
      if (options.lifecycle !== undefined) {
        const policy = lifecyclePolicy({ ...options, lifecycle: options.lifecycle });
        let query = "";
        if (cluster.product === "opensearch") {
          // ISM refuses to overwrite a policy without its current sequence number (optimistic concurrency).
          const current = await this.callJson("GET", policy.path);
          if (current.status === 200 && isRecord(current.json)) {
            query = `?if_seq_no=${String(current.json._seq_no)}&if_primary_term=${String(current.json._primary_term)}`;
          }
        }
        const put = await this.callJson("PUT", policy.path + query, policy.body);
        if (put.status < 200 || put.status > 299)
          throw fail(`the lifecycle policy ${options.lifecycle.policy}`, put.status, put.text);
      }
      const template = indexTemplate(options);
      const put = await this.callJson(
        "PUT",
        `/_index_template/${encodeURIComponent(template.name)}`,
        template.body,
      );
      if (put.status < 200 || put.status > 299)
        throw fail(`the index template ${template.name}`, put.status, put.text);
    } catch (error) {
      if (error instanceof SinkError) throw error;
      throw new SinkError(
        "es_unreachable",
        `${this.name}: ${networkReason(error, this.where, this.settings.request_timeout, false)}`,
        {
          cause: error,
        },
      );
    }
  }

  /** Index and `data_stream` member of one event.dataset (a handful per sink: kept). */
  private route(dataset: string): { index: string; member: string } {
    let route = this.members.get(dataset);
    if (route === undefined) {
      const fixed = this.settings.index;
      if (fixed !== undefined) route = { index: fixed, member: "" };
      else {
        const stream = streamDataset(this.settings.dataset_prefix, dataset);
        route = {
          index: dataStreamName(stream, this.settings.namespace),
          member: dataStreamMember(stream, this.settings.namespace),
        };
      }
      this.members.set(dataset, route);
    }
    return route;
  }

  private item(slot: number, event: OutEvent): Item {
    const route = this.route(event.dataset);
    const action = `{"create":{"_index":${JSON.stringify(route.index)},"_id":${JSON.stringify(event.id)}}}`;
    const doc = route.member === "" ? event.json : withMember(event.json, route.member);
    const lines = `${action}\n${doc}\n`;
    return { slot, event, lines, bytes: Buffer.byteLength(lines), inDoubt: false };
  }

  /** Batches of at most max_batch_events and max_batch_bytes, made as they are taken. */
  private *batches(events: readonly OutEvent[]): Generator<Item[]> {
    let batch: Item[] = [];
    let bytes = 0;
    for (let slot = 0; slot < events.length; slot++) {
      const item = this.item(slot, events[slot] as OutEvent);
      if (
        batch.length > 0 &&
        (batch.length >= this.settings.max_batch_events || bytes + item.bytes > this.settings.max_batch_bytes)
      ) {
        yield batch;
        batch = [];
        bytes = 0;
      }
      batch.push(item);
      bytes += item.bytes;
    }
    if (batch.length > 0) yield batch;
  }

  async deliver(events: readonly OutEvent[], signal?: AbortSignal): Promise<Settlement[]> {
    if (this.closed) throw new SinkError("es_closed", `${this.name}: closed`);
    const stop = signal === undefined ? this.closing.signal : AbortSignal.any([this.closing.signal, signal]);
    const settled: (Settlement | undefined)[] = new Array<Settlement | undefined>(events.length);
    const batches = this.batches(events);
    // Each worker takes the next batch once its own is settled: the batches of one call are made
    // (their NDJSON held) at most max_in_flight at a time, and the gate bounds the whole sink.
    const worker = async (): Promise<void> => {
      for (let next = batches.next(); !next.done; next = batches.next()) {
        await this.settle(next.value, settled, stop);
      }
    };
    try {
      await Promise.all(Array.from({ length: Math.min(this.settings.max_in_flight, events.length) }, worker));
    } catch (error) {
      if (stop.aborted) {
        throw new SinkError(
          this.closing.signal.aborted ? "es_closed" : "es_aborted",
          `${this.name}: ${this.closing.signal.aborted ? "closed" : "delivery aborted"} before every event was settled`,
          { cause: error },
        );
      }
      throw error;
    }
    return settled.map((settlement) => {
      if (settlement === undefined) throw new Error("an event left unsettled");
      return settlement;
    });
  }

  /** Sends one batch until each of its events is settled. */
  private async settle(batch: Item[], settled: (Settlement | undefined)[], stop: AbortSignal): Promise<void> {
    const metrics = this.context.metrics;
    const queue: Item[][] = [batch];
    let attempt = 0;
    const wait = async (retryAfter: string | undefined): Promise<void> => {
      const ms = retryWait(attempt, retryAfter, {
        capMs: this.settings.retry_max_wait * 1000,
        maxMs: this.settings.retry_max_wait * 1000,
      });
      attempt += 1;
      await sleep(ms, stop);
    };
    for (let items = queue.shift(); items !== undefined; items = queue.shift()) {
      const outcome = await this.send(items, stop);
      if (outcome.kind === "too_large") {
        if (items.length === 1) {
          const item = items[0] as Item;
          settled[item.slot] = rejected(
            `document of ${item.bytes} bytes is larger than the server's http.max_content_length`,
          );
          metrics.rejected.inc();
          continue;
        }
        const half = Math.ceil(items.length / 2);
        queue.unshift(items.slice(0, half), items.slice(half));
        continue;
      }
      if (outcome.kind === "reject") {
        for (const item of items) settled[item.slot] = rejected(outcome.reason);
        metrics.rejected.inc(items.length);
        this.succeeded();
        continue;
      }
      if (outcome.kind === "retry") {
        this.failed(outcome.reason, outcome.auth ? "error" : "warn");
        if (outcome.inDoubt) for (const item of items) item.inDoubt = true;
        metrics.retried.inc(items.length);
        await wait(outcome.retryAfter);
        queue.unshift(items);
        continue;
      }
      const again: Item[] = [];
      let lastReason = "";
      let delivered = 0;
      let duplicates = 0;
      let refused = 0;
      for (let i = 0; i < items.length; i++) {
        const item = items[i] as Item;
        const answer = outcome.statuses[i] as ItemAnswer;
        if (answer.status >= 200 && answer.status < 300) {
          settled[item.slot] = DELIVERED;
          delivered += 1;
        } else if (answer.status === 409) {
          // Our own first copy, stored before its answer was lost, is delivered, not a redelivery.
          settled[item.slot] = item.inDoubt ? DELIVERED : DUPLICATE;
          if (item.inDoubt) delivered += 1;
          else duplicates += 1;
        } else if (answer.status === 429 || answer.status >= 500) {
          again.push(item);
          lastReason = `${answer.status} ${answer.reason ?? ""}`.trim();
        } else {
          settled[item.slot] = rejected(answer.reason ?? `status ${answer.status}`);
          refused += 1;
        }
      }
      if (delivered > 0) metrics.delivered.inc(delivered);
      if (duplicates > 0) metrics.duplicates.inc(duplicates);
      if (refused > 0) metrics.rejected.inc(refused);
      if (again.length === 0) {
        this.succeeded();
        attempt = 0;
        continue;
      }
      this.failed(`${again.length} of ${items.length} events not taken: ${lastReason}`);
      metrics.retried.inc(again.length);
      await wait(undefined);
      queue.unshift(again);
    }
  }

  /** One `_bulk` request for `items`, and what its answer means. */
  private async send(items: readonly Item[], stop: AbortSignal): Promise<Outcome> {
    await this.gate.enter(stop);
    const timeout = AbortSignal.timeout(this.settings.request_timeout * 1000);
    try {
      const text = items.map((item) => item.lines).join("");
      const headers: Record<string, string> = { "content-type": "application/x-ndjson" };
      let body: Buffer | string = text;
      if (this.settings.compression) {
        // Speed over ratio: NDJSON of ECS documents still shrinks several times at level 1.
        body = await gzip(text, { level: zlib.Z_BEST_SPEED });
        headers["content-encoding"] = "gzip";
      }
      const answer = await this.call("POST", BULK_PATH, {
        body,
        headers,
        signal: AbortSignal.any([stop, timeout]),
      });
      return this.read(answer, items.length);
    } catch (error) {
      if (stop.aborted) throw error;
      const code = errorCode(error);
      const timedOut =
        timeout.aborted || code === "UND_ERR_HEADERS_TIMEOUT" || code === "UND_ERR_BODY_TIMEOUT";
      return {
        kind: "retry",
        reason: networkReason(error, this.where, this.settings.request_timeout, timedOut),
        inDoubt: true,
        auth: false,
      };
    } finally {
      this.gate.leave();
    }
  }

  private read(
    answer: { status: number; headers: Record<string, string | string[] | undefined>; text: string },
    count: number,
  ): Outcome {
    const { status, text } = answer;
    if (status === 413) return { kind: "too_large" };
    if (status === 401 || status === 403) {
      return {
        kind: "retry",
        reason: `${this.where}: ${this.refusedCredentials(status)}`,
        inDoubt: false,
        auth: true,
      };
    }
    if (status === 429 || status >= 500) {
      const header = answer.headers["retry-after"];
      return {
        kind: "retry",
        reason: answerReason(status, text),
        retryAfter: typeof header === "string" ? header : undefined,
        inDoubt: status >= 500,
        auth: false,
      };
    }
    if (status < 200 || status > 299) return { kind: "reject", reason: answerReason(status, text) };
    let body: unknown;
    try {
      body = JSON.parse(text);
    } catch {
      body = undefined;
    }
    const list = isRecord(body) ? body.items : undefined;
    if (!Array.isArray(list) || list.length !== count) {
      // Not a bulk answer (a proxy?): unknown outcome, and create + _id makes a resend safe.
      return {
        kind: "retry",
        reason: `a bulk answer without its ${count} items (${status})`,
        inDoubt: true,
        auth: false,
      };
    }
    const statuses = list.map((entry: unknown): ItemAnswer => {
      const result = isRecord(entry) ? Object.values(entry)[0] : undefined;
      if (!isRecord(result) || typeof result.status !== "number")
        return { status: 500, reason: "an item without status" };
      return {
        status: result.status,
        reason: result.error === undefined ? undefined : errorReason(result.error),
      };
    });
    return { kind: "items", statuses };
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.closing.abort(new SinkError("es_closed", `${this.name}: closed`));
    await this.agent.close();
  }
}

export const elasticsearchSink: SinkFactory<ElasticsearchSettings> = (name, settings, context) =>
  new ElasticsearchSink(name, settings, context);

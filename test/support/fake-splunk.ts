/**
 * @module test/support/fake-splunk
 * A Splunk HTTP Event Collector on 127.0.0.1 (port 0) for the sink's tests, speaking the
 * documented protocol (Splunk docs, "Format events for HTTP Event Collector", "HTTP Event Collector
 * indexer acknowledgement", HEC error codes): `POST /services/collector/event` with concatenated
 * JSON objects (gzip or not) and `Authorization: Splunk <token>`, `POST /services/collector/ack`,
 * `GET /services/collector/health`. It stores what it indexes, and injects the faults a real HEC
 * shows: busy (503 code 9), refused events (400 code 6 with `invalid-event-number`, or without),
 * acknowledgements late or never true, a connection reset after indexing, slow answers, a token
 * refused.
 */
import { randomUUID } from "node:crypto";
import {
  createServer as createHttpServer,
  type IncomingMessage,
  type Server,
  type ServerResponse,
} from "node:http";
import { createServer as createHttpsServer } from "node:https";
import type { AddressInfo } from "node:net";
import { gunzipSync } from "node:zlib";
import { prng as seeded } from "../../bench/generate.ts";

/** One event as HEC stored it. */
export interface HecEntry {
  readonly time?: unknown;
  readonly host?: unknown;
  readonly source?: unknown;
  readonly sourcetype?: unknown;
  readonly index?: unknown;
  readonly event: unknown;
  readonly fields?: Record<string, unknown>;
  /** The event's own JSON text as it came in the body. */
  readonly eventText: string;
}

/** A fault for one event request (taken from the queue, else drawn by the seeded rates). */
export type EventFault =
  /** 503 `{"text":"Server is busy","code":9}`, with `busyRetryAfter` when set. */
  | "busy"
  | "server-error"
  /** 429, as a proxy or load balancer in front of HEC answers, with `busyRetryAfter` when set. */
  | "throttled"
  /** Indexes the events, then destroys the connection without answering. */
  | "reset-after-index"
  /** Indexes the events, answers after `slowMs`. */
  | "slow"
  /** 403 code 4, "Invalid token". */
  | "token-refused"
  /** Indexes and answers, but the request's ack never becomes true. */
  | "lose-ack";

export interface FakeSplunkOptions {
  readonly token?: string;
  /** Indexer acknowledgement enabled on the token: a channel is required. */
  readonly acks?: boolean;
  readonly tls?: { readonly key: string; readonly cert: string };
  /** Events the fake refuses (an `event` it is told to refuse): 400 code 6. */
  readonly refuse?: (event: unknown) => boolean;
  /** Whether a refusal names the event (`invalid-event-number`; default true). */
  readonly refuseWithNumber?: boolean;
  /** Indexes the token may write to; another → 400 code 7 "Incorrect index" (default: any). */
  readonly indexes?: readonly string[];
  /** Ms before an ack becomes true (default 0). */
  readonly ackDelayMs?: number;
  readonly slowMs?: number;
  readonly busyRetryAfter?: string;
  /** Seeded fault rates per event request, for load runs. */
  readonly seed?: number;
  readonly rates?: Partial<Record<EventFault, number>>;
}

interface AckState {
  readyAt: number;
}

/**
 * The objects of a concatenated-JSON body, as text slices (whitespace between them allowed);
 * a slice that is not one object (unbalanced, trailing garbage) ends the list with `bad`.
 */
export function splitConcatenated(body: string): { objects: string[]; bad: boolean } {
  const objects: string[] = [];
  let depth = 0;
  let start = -1;
  let inString = false;
  for (let i = 0; i < body.length; i++) {
    const c = body[i];
    if (inString) {
      if (c === "\\") i++;
      else if (c === '"') inString = false;
      continue;
    }
    if (c === '"') {
      if (depth === 0) return { objects, bad: true };
      inString = true;
    } else if (c === "{" || c === "[") {
      if (depth === 0) {
        if (c === "[") return { objects, bad: true };
        start = i;
      }
      depth++;
    } else if (c === "}" || c === "]") {
      depth--;
      if (depth < 0) return { objects, bad: true };
      if (depth === 0) objects.push(body.slice(start, i + 1));
    } else if (depth === 0 && !/\s/.test(c ?? "")) {
      return { objects, bad: true };
    }
  }
  return { objects, bad: depth !== 0 };
}

/** The text of the `event` value inside one HEC object's text (for the splicing check). */
function eventText(objectText: string, event: unknown): string {
  const at = objectText.indexOf('"event":');
  if (at < 0) return JSON.stringify(event);
  return splitConcatenated(objectText.slice(at + 8)).objects[0] ?? JSON.stringify(event);
}

export class FakeSplunk {
  /** Everything indexed, in order. */
  readonly entries: HecEntry[] = [];
  /** Faults for the next event requests, first first. */
  readonly faults: EventFault[] = [];
  token: string;
  acks: boolean;
  healthy = true;
  readonly stats = {
    eventRequests: 0,
    gzipRequests: 0,
    emptyRequests: 0,
    ackPolls: 0,
    /** The largest number of ids in one ack poll. */
    largestAckPoll: 0,
    channels: new Set<string>(),
    /** Faults injected, by kind. */
    injected: new Map<EventFault, number>(),
    /** Events per request, in order. */
    requestSizes: [] as number[],
    /** Uncompressed bytes per request, in order. */
    requestBytes: [] as number[],
  };
  private readonly options: FakeSplunkOptions;
  private readonly server: Server;
  private readonly random: () => number;
  private readonly ackStates = new Map<string, { next: number; pending: Map<number, AckState> }>();
  private address = "";

  constructor(options: FakeSplunkOptions = {}) {
    this.options = options;
    this.token = options.token ?? `fake-${randomUUID()}`;
    this.acks = options.acks ?? false;
    this.random = seeded(options.seed ?? 1);
    const handler = (req: IncomingMessage, res: ServerResponse): void => {
      this.handle(req, res).catch((err: unknown) => {
        if (!res.headersSent) this.answer(res, 500, { text: `fake failed: ${String(err)}`, code: 8 });
      });
    };
    this.server =
      options.tls === undefined ? createHttpServer(handler) : createHttpsServer(options.tls, handler);
  }

  get url(): string {
    return this.address;
  }

  async start(): Promise<this> {
    await new Promise<void>((resolve) => this.server.listen(0, "127.0.0.1", resolve));
    const { port } = this.server.address() as AddressInfo;
    this.address = `${this.options.tls === undefined ? "http" : "https"}://127.0.0.1:${port}`;
    return this;
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  /** How many times each `event.id` (from `fields`) was indexed. */
  idCounts(): Map<string, number> {
    const counts = new Map<string, number>();
    for (const entry of this.entries) {
      const id = String(entry.fields?.["event.id"]);
      counts.set(id, (counts.get(id) ?? 0) + 1);
    }
    return counts;
  }

  private answer(
    res: ServerResponse,
    status: number,
    body: object,
    headers: Record<string, string> = {},
  ): void {
    const text = JSON.stringify(body);
    res.writeHead(status, { "content-type": "application/json", ...headers });
    res.end(text);
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    let raw = Buffer.concat(chunks);
    const url = new URL(req.url ?? "/", "http://fake");
    if (url.pathname === "/services/collector/health" && req.method === "GET") {
      if (this.healthy) this.answer(res, 200, { text: "HEC is healthy", code: 17 });
      else this.answer(res, 503, { text: "HEC is unhealthy, queues are full", code: 18 });
      return;
    }
    const auth = req.headers.authorization;
    if (auth === undefined) return this.answer(res, 401, { text: "Token is required", code: 2 });
    if (auth !== `Splunk ${this.token}`) return this.answer(res, 403, { text: "Invalid token", code: 4 });
    const channelHeader = req.headers["x-splunk-request-channel"];
    const channel =
      (Array.isArray(channelHeader) ? channelHeader[0] : channelHeader) ?? url.searchParams.get("channel");
    if (req.headers["content-encoding"] === "gzip") {
      raw = gunzipSync(raw);
      if (url.pathname === "/services/collector/event") this.stats.gzipRequests++;
    }
    const body = raw.toString("utf8");
    if (url.pathname === "/services/collector/ack" && req.method === "POST") {
      return this.ackPoll(res, body, channel);
    }
    if (url.pathname === "/services/collector/event" && req.method === "POST") {
      return this.event(req, res, body, channel);
    }
    this.answer(res, 404, { text: "The requested URL was not found on this server.", code: 404 });
  }

  private ackPoll(res: ServerResponse, body: string, channel: string | null | undefined): void {
    if (!this.acks) return this.answer(res, 400, { text: "ACK is disabled", code: 14 });
    if (!channel) return this.answer(res, 400, { text: "Data channel is missing", code: 10 });
    let ids: unknown;
    try {
      ids = (JSON.parse(body) as { acks?: unknown }).acks;
    } catch {
      ids = undefined;
    }
    if (!Array.isArray(ids)) return this.answer(res, 400, { text: "Invalid data format", code: 6 });
    this.stats.ackPolls++;
    this.stats.largestAckPoll = Math.max(this.stats.largestAckPoll, ids.length);
    const state = this.ackStates.get(channel);
    const now = Date.now();
    const acks: Record<string, boolean> = {};
    for (const id of ids) {
      const pending = typeof id === "number" ? state?.pending.get(id) : undefined;
      const done = pending !== undefined && pending.readyAt <= now;
      // HEC forgets an ack once it has said true.
      if (done) state?.pending.delete(id as number);
      acks[String(id)] = done;
    }
    this.answer(res, 200, { acks });
  }

  private drawFault(): EventFault | undefined {
    const queued = this.faults.shift();
    if (queued !== undefined) return queued;
    const rates = this.options.rates;
    if (rates === undefined) return undefined;
    let r = this.random();
    for (const [fault, rate] of Object.entries(rates) as [EventFault, number][]) {
      if (r < rate) return fault;
      r -= rate;
    }
    return undefined;
  }

  private async event(
    req: IncomingMessage,
    res: ServerResponse,
    body: string,
    channel: string | null | undefined,
  ): Promise<void> {
    if (this.acks && !channel) return this.answer(res, 400, { text: "Data channel is missing", code: 10 });
    if (channel) this.stats.channels.add(channel);
    const { objects, bad } = splitConcatenated(body);
    if (objects.length === 0 && !bad) {
      this.stats.emptyRequests++;
      return this.answer(res, 400, { text: "No data", code: 5 });
    }
    this.stats.eventRequests++;
    this.stats.requestSizes.push(objects.length);
    this.stats.requestBytes.push(Buffer.byteLength(body));
    const fault = this.drawFault();
    if (fault !== undefined) this.stats.injected.set(fault, (this.stats.injected.get(fault) ?? 0) + 1);
    if (fault === "busy") {
      const headers: Record<string, string> = {};
      if (this.options.busyRetryAfter !== undefined) headers["retry-after"] = this.options.busyRetryAfter;
      return this.answer(res, 503, { text: "Server is busy", code: 9 }, headers);
    }
    if (fault === "throttled") {
      const headers: Record<string, string> = {};
      if (this.options.busyRetryAfter !== undefined) headers["retry-after"] = this.options.busyRetryAfter;
      return this.answer(res, 429, { text: "Too many requests" }, headers);
    }
    if (fault === "server-error") return this.answer(res, 500, { text: "Internal server error", code: 8 });
    if (fault === "token-refused") return this.answer(res, 403, { text: "Invalid token", code: 4 });

    // Parse every object first: a refusal without a number indexes nothing.
    const parsed: HecEntry[] = [];
    let failure: { index: number; text: string; code: number } | undefined;
    for (const [index, text] of objects.entries()) {
      let value: Record<string, unknown>;
      try {
        value = JSON.parse(text) as Record<string, unknown>;
      } catch {
        failure = { index, text: "Invalid data format", code: 6 };
        break;
      }
      if (!("event" in value)) {
        failure = { index, text: "Event field is required", code: 12 };
        break;
      }
      if (this.options.indexes !== undefined && value.index !== undefined) {
        if (!this.options.indexes.includes(String(value.index))) {
          failure = { index, text: "Incorrect index", code: 7 };
          break;
        }
      }
      if (this.options.refuse?.(value.event) === true) {
        failure = { index, text: "Invalid data format", code: 6 };
        break;
      }
      parsed.push({ ...(value as Omit<HecEntry, "eventText">), eventText: eventText(text, value.event) });
    }
    if (failure === undefined && bad)
      failure = { index: objects.length, text: "Invalid data format", code: 6 };
    if (failure !== undefined) {
      // HEC indexes the events before the bad one (opentelemetry-collector-contrib#36113).
      if (this.options.refuseWithNumber ?? true) {
        this.entries.push(...parsed);
        return this.answer(res, 400, {
          text: failure.text,
          code: failure.code,
          "invalid-event-number": failure.index,
        });
      }
      return this.answer(res, 400, { text: failure.text, code: failure.code });
    }
    this.entries.push(...parsed);
    if (fault === "reset-after-index") {
      req.socket.destroy();
      return;
    }
    const reply: Record<string, unknown> = { text: "Success", code: 0 };
    if (this.acks && channel) {
      let state = this.ackStates.get(channel);
      if (state === undefined) {
        state = { next: 0, pending: new Map() };
        this.ackStates.set(channel, state);
      }
      const ackId = state.next++;
      const readyAt =
        fault === "lose-ack" ? Number.POSITIVE_INFINITY : Date.now() + (this.options.ackDelayMs ?? 0);
      state.pending.set(ackId, { readyAt });
      reply.ackId = ackId;
    }
    if (fault === "slow") await new Promise((resolve) => setTimeout(resolve, this.options.slowMs ?? 2000));
    if (!res.destroyed) this.answer(res, 200, reply);
  }
}

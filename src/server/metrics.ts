/**
 * @module server/metrics
 * The server's Prometheus metrics, in a Registry of its own (not prom-client's global one), so
 * that two servers in one process (tests) or a host application do not mix their counts.
 */
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from "prom-client";

export interface ServerMetrics {
  readonly registry: Registry;
  /** Messages (frames, datagrams, array elements) received, by input kind. */
  readonly received: Counter<"input">;
  /** Documents committed (new or already stored). */
  readonly documents: Counter;
  readonly deadLetters: Counter<"code">;
  /** Tanium `fields` keys that no mapper used, summed over the committed documents. */
  readonly unmappedKeys: Counter;
  /** Keys such as `__proto__` removed from the input, summed over the committed documents. */
  readonly unsafeKeys: Counter;
  readonly queueDepth: Gauge;
  readonly batchCommitSeconds: Histogram;
  readonly udpDropped: Counter;
  /** Run at each scrape, before `udpDropped` is read: the UDP input adds the kernel's drops. */
  readonly udpDropSources: Set<() => void>;
  readonly tcpRefused: Counter;
  /** Partial frames held by a TCP connection the server closed (stop, idle, eviction). */
  readonly tcpCutFrames: Counter;
  /** Events read over TCP and never committed: the store still failed when the stop's deadline came. */
  readonly tcpLost: Counter;
  /** Connections and datagrams from senders outside `--allow`, by input. */
  readonly denied: Counter<"input">;
  readonly httpRejected: Counter<"status">;
}

export function createMetrics(): ServerMetrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  const registers = [registry];
  const udpDropSources = new Set<() => void>();
  return {
    registry,
    received: new Counter({
      name: "tanium_ecs_received_total",
      help: "Messages received (lines, frames, array elements, datagrams), by input.",
      labelNames: ["input"],
      registers,
    }),
    documents: new Counter({
      name: "tanium_ecs_documents_total",
      help: "ECS documents committed to the store (including redeliveries stored once).",
      registers,
    }),
    deadLetters: new Counter({
      name: "tanium_ecs_dead_letters_total",
      help: "Messages that could not be normalized, committed to the dead letters, by error code.",
      labelNames: ["code"],
      registers,
    }),
    unmappedKeys: new Counter({
      name: "tanium_ecs_unmapped_keys_total",
      help: "Tanium fields keys that no mapper used (kept under tanium.fields).",
      registers,
    }),
    unsafeKeys: new Counter({
      name: "tanium_ecs_unsafe_keys_total",
      help: "Keys such as __proto__ removed from the input (the document is tagged tanium_ecs_unsafe_key_removed).",
      registers,
    }),
    queueDepth: new Gauge({
      name: "tanium_ecs_queue_depth",
      help: "Documents and dead letters received and not yet committed.",
      registers,
    }),
    batchCommitSeconds: new Histogram({
      name: "tanium_ecs_batch_commit_seconds",
      help: "Time to commit one batch to the store.",
      buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers,
    }),
    udpDropped: new Counter({
      name: "tanium_ecs_udp_dropped_total",
      help: "UDP datagrams dropped: by the kernel (receive buffer full) or because the queue was full.",
      registers,
      collect() {
        for (const source of udpDropSources) source();
      },
    }),
    udpDropSources,
    tcpRefused: new Counter({
      name: "tanium_ecs_tcp_connections_refused_total",
      help: "TCP connections closed at once: --max-connections or --max-connections-per-source reached.",
      registers,
    }),
    tcpCutFrames: new Counter({
      name: "tanium_ecs_tcp_cut_frames_total",
      help: "Partial frames (never a whole event) discarded when the server closed a TCP connection.",
      registers,
    }),
    tcpLost: new Counter({
      name: "tanium_ecs_tcp_lost_total",
      help: "Events read over TCP that the store still refused when the stop deadline came.",
      registers,
    }),
    denied: new Counter({
      name: "tanium_ecs_denied_total",
      help: "TCP connections and UDP datagrams from senders outside --allow, by input.",
      labelNames: ["input"],
      registers,
    }),
    httpRejected: new Counter({
      name: "tanium_ecs_http_rejected_total",
      help: "HTTP ingest requests refused, by status (401, 413, 415, 503…).",
      labelNames: ["status"],
      registers,
    }),
  };
}

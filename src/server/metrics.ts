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
  readonly queueDepth: Gauge;
  readonly batchCommitSeconds: Histogram;
  readonly udpDropped: Counter;
  readonly tcpRefused: Counter;
  readonly httpRejected: Counter<"status">;
}

export function createMetrics(): ServerMetrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  const registers = [registry];
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
      help: "UDP datagrams dropped because the queue was full (UDP has no back-pressure).",
      registers,
    }),
    tcpRefused: new Counter({
      name: "tanium_ecs_tcp_connections_refused_total",
      help: "TCP connections closed at once because --max-connections were open.",
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

/**
 * @module delivery/metrics
 * Per-sink Prometheus metrics, one family each labelled by the sink's name, in the server's
 * registry: delivered, already there, retried, rejected, and the disk buffer's bytes and the age
 * of its oldest undelivered event.
 */
import { Counter, Gauge, type Registry } from "prom-client";

/** One sink's counters (already labelled with its name). */
export interface SinkMetrics {
  readonly delivered: { inc(n?: number): void };
  readonly duplicates: { inc(n?: number): void };
  /** Events sent again after a failure that may pass (429, 5xx, timeout, lost connection). */
  readonly retried: { inc(n?: number): void };
  /** Events the destination refused for good: dead letters. */
  readonly rejected: { inc(n?: number): void };
  readonly bufferBytes: { set(n: number): void };
  readonly oldestUndeliveredSeconds: { set(n: number): void };
}

export interface SinkMetricFamilies {
  /** The metrics of the sink named `name`. */
  forSink(name: string): SinkMetrics;
}

export function createSinkMetrics(registry: Registry): SinkMetricFamilies {
  const registers = [registry];
  const counter = (name: string, help: string): Counter<"sink"> =>
    new Counter({ name, help, labelNames: ["sink"], registers });
  const gauge = (name: string, help: string): Gauge<"sink"> =>
    new Gauge({ name, help, labelNames: ["sink"], registers });
  const delivered = counter("tanium_ecs_sink_delivered_total", "Events a sink stored, by sink.");
  const duplicates = counter(
    "tanium_ecs_sink_duplicates_total",
    "Events a sink already had (a redelivery of the same event.id), by sink.",
  );
  const retried = counter(
    "tanium_ecs_sink_retried_total",
    "Events sent again after a failure that may pass (429, 5xx, timeout, lost connection), by sink.",
  );
  const rejected = counter(
    "tanium_ecs_sink_rejected_total",
    "Events a sink refused for good (dead letters with the sink's reason), by sink.",
  );
  const bufferBytes = gauge(
    "tanium_ecs_sink_buffer_bytes",
    "Bytes waiting in a sink's disk buffer, by sink.",
  );
  const oldest = gauge(
    "tanium_ecs_sink_oldest_undelivered_seconds",
    "Age of the oldest event in a sink's disk buffer (0 when empty), by sink.",
  );
  return {
    forSink(name) {
      const labels = { sink: name };
      return {
        delivered: delivered.labels(labels),
        duplicates: duplicates.labels(labels),
        retried: retried.labels(labels),
        rejected: rejected.labels(labels),
        bufferBytes: bufferBytes.labels(labels),
        oldestUndeliveredSeconds: oldest.labels(labels),
      };
    },
  };
}

/** Metrics that count nothing, for a sink used outside a server (tests, the library). */
export const NO_SINK_METRICS: SinkMetrics = {
  delivered: { inc() {} },
  duplicates: { inc() {} },
  retried: { inc() {} },
  rejected: { inc() {} },
  bufferBytes: { set() {} },
  oldestUndeliveredSeconds: { set() {} },
};

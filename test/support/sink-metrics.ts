/**
 * A sink's metrics that count, for the sink tests: what `SinkMetrics` was told, readable as plain
 * numbers (the gauges are not kept: the buffer's tests watch those themselves).
 */
import type { SinkMetrics } from "../../src/delivery/metrics.ts";

export interface SinkCounts {
  delivered: number;
  duplicates: number;
  retried: number;
  rejected: number;
}

export function countingMetrics(): { metrics: SinkMetrics; counts: SinkCounts } {
  const counts: SinkCounts = { delivered: 0, duplicates: 0, retried: 0, rejected: 0 };
  const counter = (key: keyof SinkCounts) => ({ inc: (n = 1) => void (counts[key] += n) });
  return {
    counts,
    metrics: {
      delivered: counter("delivered"),
      duplicates: counter("duplicates"),
      retried: counter("retried"),
      rejected: counter("rejected"),
      bufferBytes: { set() {} },
      oldestUndeliveredSeconds: { set() {} },
    },
  };
}

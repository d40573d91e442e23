/**
 * @module delivery/null
 * The `null` sink: settles every event delivered at once and only counts them. For benchmarks
 * (what the pipeline costs without a destination) and for a server that only dead-letters.
 */
import { z } from "zod";
import { DELIVERED, SinkError, type EventSink, type SinkContext, type SinkHealth } from "./sink.ts";
import type { OutEvent } from "./event.ts";

export const nullSettings = z.strictObject({});
export type NullSettings = z.infer<typeof nullSettings>;

export class NullSink implements EventSink {
  readonly name: string;
  readonly kind = "null";
  readonly #context: SinkContext;
  #closed = false;
  /** Events settled so far. */
  delivered = 0;

  constructor(name: string, context: SinkContext) {
    this.name = name;
    this.#context = context;
  }

  async start(): Promise<void> {}

  async deliver(events: readonly OutEvent[]): Promise<(typeof DELIVERED)[]> {
    if (this.#closed) throw new SinkError("ERR_SINK_CLOSED", `sink ${this.name} is closed`);
    this.delivered += events.length;
    this.#context.metrics.delivered.inc(events.length);
    return events.map(() => DELIVERED);
  }

  health(): SinkHealth {
    return { ok: true };
  }

  async close(): Promise<void> {
    this.#closed = true;
  }
}

export function createNullSink(name: string, _settings: NullSettings, context: SinkContext): NullSink {
  return new NullSink(name, context);
}

/**
 * @module delivery/lazy
 * A sink kind whose implementation is loaded when a sink of it is made, not when the registry is:
 * the HTTP client and the ECS field table of the remote kinds cost `normalize` to stdout 0.42 s
 * of start-up for nothing otherwise (measured: 0.70 s → 1.12 s for an empty input). Its CA file is
 * still read at once, so that a wrong path stops the start instead of failing in the background.
 */
import { readFileSync } from "node:fs";
import type { OutEvent } from "./event.ts";
import {
  SinkError,
  type EventSink,
  type Settlement,
  type SinkContext,
  type SinkFactory,
  type SinkHealth,
} from "./sink.ts";

class LazySink implements EventSink {
  readonly name: string;
  readonly kind: string;
  readonly #load: () => Promise<EventSink>;
  #loading: Promise<EventSink> | undefined;
  #inner: EventSink | undefined;
  #closed = false;

  constructor(name: string, kind: string, load: () => Promise<EventSink>) {
    this.name = name;
    this.kind = kind;
    this.#load = load;
  }

  #get(): Promise<EventSink> {
    if (this.#closed) return Promise.reject(new SinkError("ERR_SINK_CLOSED", `sink ${this.name} is closed`));
    this.#loading ??= this.#load().then((inner) => (this.#inner = inner));
    return this.#loading;
  }

  async start(): Promise<void> {
    await (await this.#get()).start();
  }

  async deliver(events: readonly OutEvent[], signal?: AbortSignal): Promise<Settlement[]> {
    return (await this.#get()).deliver(events, signal);
  }

  health(): SinkHealth {
    return this.#inner?.health() ?? { ok: true };
  }

  async close(): Promise<void> {
    this.#closed = true;
    const inner =
      this.#inner ?? (this.#loading === undefined ? undefined : await this.#loading.catch(() => undefined));
    await inner?.close();
  }
}

/** The factory of `kind`, loaded by `load` at the first use of a sink made by it. */
export function lazyFactory<Settings extends { ca_file?: string | undefined }>(
  kind: string,
  load: () => Promise<SinkFactory<Settings>>,
): SinkFactory<Settings> {
  return (name: string, settings: Settings, context: SinkContext) => {
    if (settings.ca_file !== undefined) readFileSync(settings.ca_file);
    return new LazySink(name, kind, async () => (await load())(name, settings, context));
  };
}

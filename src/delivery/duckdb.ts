/**
 * @module delivery/duckdb
 * The `duckdb` sink: the DuckDB store (`store/duckdb.ts`) as a destination. One `store.write` per
 * batch (one transaction): every event is settled once it is committed, `delivered` when new,
 * `duplicate` when its `event.id` was stored before (the primary key keeps one). It also lends
 * the store as a capability (`queryable`): `/api/*`, `query`, `replay`, `export` read it.
 *
 * Without `data`, it is the server's local store (the one that also keeps the dead letters and
 * the host table), so the one database file is opened once; with `data`, a store of its own.
 */
import { z } from "zod";
import type { EventStore } from "../store/store.ts";
import {
  DELIVERED,
  DUPLICATE,
  SinkError,
  type EventSink,
  type SinkContext,
  type SinkHealth,
  type Settlement,
} from "./sink.ts";
import type { OutEvent } from "./event.ts";

export const duckdbSettings = z.strictObject({
  /** The data folder holding events.duckdb; absent: the server's own (`--data`). */
  data: z.string().min(1).optional(),
});
export type DuckdbSettings = z.infer<typeof duckdbSettings>;

/** What the `duckdb` kind needs besides the sink context: the server's local store, if any. */
export interface StoreSinkContext extends SinkContext {
  readonly localStore?: EventStore;
}

export class StoreSink implements EventSink {
  readonly name: string;
  readonly kind = "duckdb";
  readonly #context: SinkContext;
  readonly #open: () => Promise<EventStore>;
  /** Whether `close` closes the store (one it opened itself) or leaves it to its owner. */
  readonly #owned: boolean;
  #store: EventStore | undefined;
  #failure: { at: number; message: string } | undefined;

  constructor(name: string, context: SinkContext, open: () => Promise<EventStore>, owned: boolean) {
    this.name = name;
    this.#context = context;
    this.#open = open;
    this.#owned = owned;
  }

  /** The store, for `/api/*` and the commands that read it; undefined before `start`. */
  get queryable(): EventStore | undefined {
    return this.#store;
  }

  async start(): Promise<void> {
    this.#store ??= await this.#open();
  }

  async deliver(events: readonly OutEvent[]): Promise<Settlement[]> {
    const store = this.#store;
    if (store === undefined) throw new SinkError("ERR_SINK_NOT_STARTED", `sink ${this.name} was not started`);
    if (events.length === 0) return [];
    let result;
    try {
      result = await store.write({ docs: events, deadLetters: [] });
    } catch (err) {
      this.#failure ??= { at: Date.now(), message: err instanceof Error ? err.message : String(err) };
      throw new SinkError("ERR_SINK_WRITE", `sink ${this.name}: ${this.#failure.message}`, { cause: err });
    }
    this.#failure = undefined;
    this.#context.metrics.delivered.inc(result.inserted);
    this.#context.metrics.duplicates.inc(result.duplicates);
    return settle(events, result.inserted, result.duplicateIds);
  }

  health(): SinkHealth {
    const failure = this.#failure;
    return failure === undefined
      ? { ok: true }
      : { ok: false, failingSince: failure.at, lastError: failure.message };
  }

  async close(): Promise<void> {
    const store = this.#store;
    this.#store = undefined;
    if (this.#owned) await store?.close();
  }
}

/**
 * One settlement per event from the store's counts. With the ids it found stored (`duplicateIds`)
 * that is exact; without them: none inserted means all duplicates, and otherwise an id repeated
 * within the batch is a duplicate after its first (the primary key keeps one) and the rest are
 * delivered. (Both mean the store holds the event: only the counts can differ.)
 */
function settle(
  events: readonly OutEvent[],
  inserted: number,
  duplicateIds?: readonly string[],
): Settlement[] {
  if (inserted === 0) return events.map(() => DUPLICATE);
  if (inserted === events.length) return events.map(() => DELIVERED);
  const before = new Set(duplicateIds);
  const seen = new Set<string>();
  return events.map((event) => {
    if (before.has(event.id) || seen.has(event.id)) return DUPLICATE;
    seen.add(event.id);
    return DELIVERED;
  });
}

/** A sink over a store opened elsewhere (the server's local store, a test's); its owner closes it. */
export function storeSink(name: string, store: EventStore, context: SinkContext): StoreSink {
  return new StoreSink(name, context, async () => store, false);
}

export function createDuckdbSink(
  name: string,
  settings: DuckdbSettings,
  context: StoreSinkContext,
): StoreSink {
  const { data } = settings;
  if (data !== undefined) {
    // Loaded here, not with the registry: `normalize` to stdout never needs DuckDB's native module.
    const open = async (): Promise<EventStore> =>
      (await import("../store/duckdb.ts")).duckdbStore({ dataDir: data });
    return new StoreSink(name, context, open, true);
  }
  const local = context.localStore;
  if (local === undefined) {
    return new StoreSink(
      name,
      context,
      () =>
        Promise.reject(
          new SinkError("ERR_SINK_CONFIG", `sink ${name}: no data folder (settings.data) and no local store`),
        ),
      false,
    );
  }
  return storeSink(name, local, context);
}

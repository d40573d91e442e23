/**
 * @module delivery/buffer
 * A disk buffer in front of a remote sink, in the manner of Vector's disk buffers: `deliver`
 * resolves once the events are synced to local disk (the buffer owns them from then on, so a
 * sender is acknowledged while Elasticsearch is down), and a background loop hands them to the
 * inner sink oldest first, in batches, in append order. The inner sink retries what may pass
 * (429, 5xx, timeouts); while it still fails the loop backs off and tries again, forever. What the
 * inner sink rejects goes to the dead-letter callback before the buffer forgets it; a crash
 * between delivery and forgetting redelivers at the next start (at least once: Elasticsearch's
 * `create` with `_id` answers 409 to the second copy, a duplicate).
 *
 * Bounded in bytes: past `maxBytes` a `deliver` is refused (`ERR_BUFFER_FULL`) instead of going
 * over the cap, `full` says so, and `onRoom` listeners hear when the loop has drained it below
 * the low-water mark, so that the intake pushes back (HTTP 503 with Retry-After, TCP stops
 * reading) instead of queueing in memory.
 */
import type { Logger } from "pino";
import { backoffDelay, type BackoffOptions } from "../backoff.ts";
import type { OutEvent } from "../event.ts";
import { NO_SINK_METRICS, type SinkMetrics } from "../metrics.ts";
import { DELIVERED, SinkError, type EventSink, type Settlement, type SinkHealth } from "../sink.ts";
import { Journal, entrySize, type JournalEntry } from "./journal.ts";

/** An event the inner sink refused for good, with its reason. */
export interface DeadLetterRow {
  readonly event: OutEvent;
  readonly reason: string;
}

export interface BufferOptions {
  /** This sink's own buffer folder (one per sink, for example `<data>/buffer/<sink>`). */
  readonly dir: string;
  /** The cap (default 1 GiB). */
  readonly maxBytes?: number;
  /** Events per `inner.deliver` (default 1000). */
  readonly batchEvents?: number;
  /** Stores refused events durably; it resolves before the buffer forgets them. */
  deadLetters(rows: DeadLetterRow[]): Promise<void>;
  readonly metrics?: SinkMetrics;
  readonly logger?: Logger;
  /** The loop's wait between failed attempts (default: base 500 ms, cap 30 s). */
  readonly backoff?: BackoffOptions;
  /** How long `close` waits for the batch in flight before aborting it (default 10 s). */
  readonly closeTimeoutMs?: number;
}

export interface BufferedSink extends EventSink {
  /** True from a refused `deliver` (or the cap reached) until the loop has drained it. */
  readonly full: boolean;
  /** `listener` is called each time the buffer goes from full to not full; returns the unsubscribe. */
  onRoom(listener: () => void): () => void;
}

export const DEFAULT_MAX_BYTES = 2 ** 30;
/** Room comes back below 90% of the cap, so that one drained batch does not flip full and back. */
const LOW_WATER = 0.9;
/** How often the oldest event's age is refreshed while nothing else happens. */
const AGE_TICK_MS = 1000;

function message(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** Resolves after `ms`, or at once when `signal` aborts. */
function pause(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const timer = setTimeout(done, ms);
    function done(): void {
      clearTimeout(timer);
      signal.removeEventListener("abort", done);
      resolve();
    }
    signal.addEventListener("abort", done, { once: true });
  });
}

export function bufferedSink(inner: EventSink, options: BufferOptions): BufferedSink {
  const maxBytes = options.maxBytes ?? DEFAULT_MAX_BYTES;
  const batchEvents = options.batchEvents ?? 1000;
  const metrics = options.metrics ?? NO_SINK_METRICS;
  const backoff = options.backoff ?? { baseMs: 500, capMs: 30_000 };
  const closeTimeoutMs = options.closeTimeoutMs ?? 10_000;
  const listeners = new Set<() => void>();
  /** Aborted when `close` begins: no new batch, no more waiting. */
  const halt = new AbortController();
  /** Aborted when `close` has waited long enough for the batch in flight. */
  const inFlight = new AbortController();
  let journal: Journal | undefined;
  let full = false;
  let closed = false;
  let loop: Promise<void> | undefined;
  let ageTimer: NodeJS.Timeout | undefined;
  /** Wakes the loop when it waits for events. */
  let wake: (() => void) | undefined;
  /** The loop's own run of failures (inner sink failing, dead-letter store failing). */
  let failingSince: number | undefined;
  let lastError: string | undefined;
  /** The buffer's own failure: its last commit failed (disk full, unwritable). */
  let diskError: string | undefined;

  function publish(): void {
    if (journal === undefined) return;
    metrics.bufferBytes.set(journal.bytes);
    const oldest = journal.oldestAt();
    metrics.oldestUndeliveredSeconds.set(
      oldest === undefined ? 0 : Math.max(0, (Date.now() - oldest) / 1000),
    );
  }

  function checkRoom(): void {
    if (!full || journal === undefined) return;
    if (journal.bytes > maxBytes * LOW_WATER && journal.count > 0) return;
    full = false;
    for (const listener of [...listeners]) {
      try {
        listener();
      } catch (err) {
        options.logger?.error({ err }, "buffer onRoom listener failed");
      }
    }
  }

  function fail(err: unknown): void {
    failingSince ??= Date.now();
    lastError = message(err);
  }

  async function startInner(): Promise<boolean> {
    for (let attempt = 0; !halt.signal.aborted; attempt++) {
      try {
        await inner.start();
        return true;
      } catch (err) {
        fail(err);
        options.logger?.warn({ err, sink: inner.name }, "sink not started, buffering meanwhile");
        await pause(backoffDelay(attempt, backoff), halt.signal);
      }
    }
    return false;
  }

  /** One batch from the buffer to the inner sink: settled, dead letters stored, then forgotten. */
  async function deliverBatch(store: Journal, entries: JournalEntry[]): Promise<void> {
    const settlements = await inner.deliver(
      entries.map((e) => e.event),
      inFlight.signal,
    );
    const dead: DeadLetterRow[] = [];
    let delivered = 0;
    let duplicates = 0;
    entries.forEach((entry, i) => {
      const s = settlements[i];
      if (s === undefined) throw new SinkError("ERR_SINK_CONTRACT", `${inner.name} left an event unsettled`);
      if (s.status === "delivered") delivered++;
      else if (s.status === "duplicate") duplicates++;
      else dead.push({ event: entry.event, reason: s.reason });
    });
    if (dead.length > 0) await options.deadLetters(dead);
    metrics.delivered.inc(delivered);
    metrics.duplicates.inc(duplicates);
    metrics.rejected.inc(dead.length);
    await store.forget(entries);
  }

  async function run(store: Journal): Promise<void> {
    if (!(await startInner())) return;
    let attempt = 0;
    while (!halt.signal.aborted) {
      const entries = store.peek(batchEvents);
      if (entries.length === 0) {
        await new Promise<void>((resolve) => {
          wake = resolve;
        });
        wake = undefined;
        continue;
      }
      try {
        await deliverBatch(store, entries);
        attempt = 0;
        failingSince = undefined;
        lastError = undefined;
      } catch (err) {
        if (inFlight.signal.aborted) break;
        fail(err);
        options.logger?.warn(
          { err, sink: inner.name, events: entries.length },
          "buffer delivery failed, will retry",
        );
        await pause(backoffDelay(attempt++, backoff), halt.signal);
      }
      publish();
      checkRoom();
    }
  }

  return {
    name: inner.name,
    kind: inner.kind,

    get full() {
      return full;
    },

    onRoom(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },

    async start() {
      if (journal !== undefined) return;
      journal = Journal.open(options.dir);
      if (journal.bytes >= maxBytes) full = true;
      publish();
      ageTimer = setInterval(publish, AGE_TICK_MS);
      ageTimer.unref();
      loop = run(journal).catch((err: unknown) => {
        fail(err);
        options.logger?.error({ err, sink: inner.name }, "buffer delivery loop stopped");
      });
    },

    async deliver(events: readonly OutEvent[]): Promise<Settlement[]> {
      if (closed) throw new SinkError("ERR_SINK_CLOSED", `${inner.name}: the buffer is closed`);
      if (journal === undefined)
        throw new SinkError("ERR_SINK_NOT_STARTED", `${inner.name}: the buffer is not started`);
      if (events.length === 0) return [];
      const size = events.reduce((sum, e) => sum + entrySize(e), 0);
      if (full || journal.bytes + size > maxBytes) {
        // A batch larger than the whole cap would never fit: refused without marking the buffer full.
        if (size <= maxBytes) full = true;
        throw new SinkError(
          "ERR_BUFFER_FULL",
          `${inner.name}: the disk buffer holds ${journal.bytes} of its ${maxBytes} bytes; ` +
            `${size} more would pass the cap (the sink is behind: ${lastError ?? "delivering"})`,
        );
      }
      try {
        await journal.append(events, Date.now());
      } catch (err) {
        diskError = message(err);
        throw err;
      }
      diskError = undefined;
      publish();
      wake?.();
      return events.map(() => DELIVERED);
    },

    health(): SinkHealth {
      const own = inner.health();
      const since = [own.failingSince, failingSince].filter((t): t is number => t !== undefined);
      const ok = own.ok && failingSince === undefined && diskError === undefined;
      const error = diskError ?? own.lastError ?? lastError;
      return {
        ok,
        ...(since.length > 0
          ? { failingSince: Math.min(...since) }
          : diskError !== undefined
            ? { failingSince: Date.now() }
            : {}),
        ...(ok || error === undefined ? {} : { lastError: error }),
      };
    },

    async close() {
      if (closed) return;
      closed = true;
      clearInterval(ageTimer);
      // The loop ends after the batch in flight (which may still be settled and forgotten); past
      // the bounded wait that batch is aborted, and stays in the buffer for the next start.
      halt.abort();
      wake?.();
      const ending = loop ?? Promise.resolve();
      let timer: NodeJS.Timeout | undefined;
      const late = await Promise.race([
        ending.then(() => false),
        new Promise<boolean>((resolve) => {
          timer = setTimeout(() => resolve(true), closeTimeoutMs);
        }),
      ]);
      clearTimeout(timer);
      if (late) {
        inFlight.abort();
        await Promise.race([ending, pause(1000, new AbortController().signal)]);
      }
      await inner.close();
      await journal?.close();
    },
  };
}

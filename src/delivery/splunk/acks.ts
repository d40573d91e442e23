/**
 * @module delivery/splunk/acks
 * Indexer acknowledgement: requests on one channel each get an `ackId`; one loop polls
 * `/services/collector/ack` for every id awaited (one request for all of them, whichever
 * `deliver` sent them) until HEC says true (indexed) or the id's deadline passes.
 */
import { setTimeout as sleep } from "node:timers/promises";

/** Asks HEC about the ids: `{"<id>": true|false}`. Throws when the poll itself failed. */
export type AckQuery = (ids: readonly number[], signal: AbortSignal) => Promise<Record<string, unknown>>;

interface Waiter {
  readonly deadline: number;
  readonly resolve: (acked: boolean) => void;
}

export class AckPoller {
  private readonly waiting = new Map<number, Waiter[]>();
  private running = false;
  private readonly query: AckQuery;
  private readonly intervalMs: number;
  private readonly stop: AbortSignal;
  private readonly onError: (err: unknown) => void;

  constructor(options: {
    query: AckQuery;
    intervalMs: number;
    stop: AbortSignal;
    onError: (err: unknown) => void;
  }) {
    this.query = options.query;
    this.intervalMs = options.intervalMs;
    this.stop = options.stop;
    this.onError = options.onError;
  }

  /** Ids awaited now. */
  get size(): number {
    return this.waiting.size;
  }

  /** True once HEC says `ackId` is indexed; false when `timeoutMs` passes first, or on stop. */
  wait(ackId: number, timeoutMs: number, signal: AbortSignal): Promise<boolean> {
    if (signal.aborted || this.stop.aborted) return Promise.resolve(false);
    return new Promise<boolean>((resolve) => {
      const onAbort = (): void => finish(false);
      const finish = (acked: boolean): void => {
        signal.removeEventListener("abort", onAbort);
        const list = this.waiting.get(ackId);
        if (list !== undefined) {
          const rest = list.filter((w) => w !== waiter);
          if (rest.length === 0) this.waiting.delete(ackId);
          else this.waiting.set(ackId, rest);
        }
        resolve(acked);
      };
      const waiter: Waiter = { deadline: Date.now() + timeoutMs, resolve: finish };
      signal.addEventListener("abort", onAbort, { once: true });
      this.waiting.set(ackId, [...(this.waiting.get(ackId) ?? []), waiter]);
      if (!this.running) void this.run();
    });
  }

  private async run(): Promise<void> {
    this.running = true;
    // No await between the loop's test and `running = false`: a `wait` never finds the loop
    // about to end without it.
    while (this.waiting.size > 0 && !this.stop.aborted) {
      try {
        await sleep(this.intervalMs, undefined, { signal: this.stop });
        const ids = [...this.waiting.keys()];
        const acks = await this.query(ids, this.stop);
        for (const id of ids) {
          if (acks[String(id)] !== true) continue;
          for (const waiter of this.waiting.get(id) ?? []) waiter.resolve(true);
        }
      } catch (err) {
        if (!this.stop.aborted) this.onError(err);
      }
      const now = Date.now();
      for (const list of [...this.waiting.values()]) {
        for (const waiter of list) if (waiter.deadline <= now) waiter.resolve(false);
      }
    }
    for (const list of [...this.waiting.values()]) for (const waiter of list) waiter.resolve(false);
    this.running = false;
  }
}

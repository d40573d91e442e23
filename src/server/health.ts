/**
 * @module server/health
 * What `/healthz` says of the store, known before anyone asks: the last commit's outcome, a write
 * that has not ended, and, while no batch proves the store alive, a probe query run in the
 * background. `/healthz` itself never waits for the store: under load a query waits behind the
 * writers and the libuv threads that inflate bodies (measured: 167 ms inside the server for one
 * poll of the overload bench, with the event loop never stalled past 45 ms).
 */
import type { Logger } from "./log.ts";
import type { EventStore } from "../store/store.ts";
import type { SinkHealth } from "../delivery/sink.ts";
import type { Intake } from "./batcher.ts";

export interface StoreHealthOptions {
  /** How often the probe may run (default 5 s). */
  readonly probeEveryMs?: number;
  /** A commit this recent stands for the store's answer: no probe (default 10 s). */
  readonly recentCommitMs?: number;
  /** A write or a probe not ended after this long makes the store stalled (default 30 s). */
  readonly stalledMs?: number;
  /**
   * The sinks other than the one over the store itself (whose failures are the store's): one
   * whose `health().ok` is false, or whose `deliver` failed the last batch, is `sink_failing`.
   */
  readonly sinks?: readonly WatchedSink[];
}

/** Why the store is not healthy, for /healthz (no message: it may name files; the log has it). */
export type StoreTrouble =
  | { readonly status: "store_write_failing"; readonly reason: string; readonly since: number }
  | { readonly status: "store_stalled"; readonly reason: string; readonly since: number }
  | { readonly status: "store_unavailable"; readonly reason: string; readonly code: string }
  | {
      readonly status: "sink_failing";
      readonly reason: string;
      readonly since: number;
      /** The sink's configured name. */
      readonly sink: string;
    };

/** A sink as /healthz sees it: its name and what it says of itself. */
export interface WatchedSink {
  readonly name: string;
  health(): SinkHealth;
}

export class StoreHealth {
  readonly #store: EventStore;
  readonly #intake: Intake;
  readonly #logger: Logger;
  readonly #recentCommitMs: number;
  readonly #stalledMs: number;
  readonly #sinks: readonly WatchedSink[];
  readonly #timer: NodeJS.Timeout;
  /** When the probe in flight began; undefined when none is. */
  #probing: number | undefined;
  /** The last probe's failure code and when it ended; undefined once one succeeded (or before any ran). */
  #probeFailure: { readonly code: string; readonly at: number } | undefined;

  constructor(store: EventStore, intake: Intake, logger: Logger, options: StoreHealthOptions = {}) {
    this.#store = store;
    this.#intake = intake;
    this.#logger = logger;
    this.#recentCommitMs = options.recentCommitMs ?? 10_000;
    this.#stalledMs = options.stalledMs ?? 30_000;
    this.#sinks = options.sinks ?? [];
    this.#timer = setInterval(() => void this.probe(), options.probeEveryMs ?? 5_000);
    this.#timer.unref();
  }

  /** What is wrong with the store now, or undefined when nothing is known to be. */
  trouble(now = Date.now()): StoreTrouble | undefined {
    const commit = this.#intake.lastCommit;
    for (const sink of this.#sinks) {
      const health = sink.health();
      const failedLast = !commit.ok && commit.sink === sink.name;
      if (health.ok && !failedLast) continue;
      return {
        status: "sink_failing",
        reason: `Sink ${sink.name} is failing: batches are not being acknowledged.`,
        since: health.failingSince ?? commit.at,
        sink: sink.name,
      };
    }
    if (!commit.ok) {
      return {
        status: "store_write_failing",
        reason: "The last commit to the store failed: batches are not being stored.",
        since: commit.at,
      };
    }
    const since = this.#intake.writingSince ?? this.#probing;
    if (since !== undefined && since < now - this.#stalledMs) {
      return {
        status: "store_stalled",
        reason: `The store has not answered for over ${Math.round(this.#stalledMs / 1000)} s.`,
        since,
      };
    }
    // A commit since the failed probe proves the store answers again.
    if (this.#probeFailure !== undefined && commit.at < this.#probeFailure.at) {
      return {
        status: "store_unavailable",
        reason: "The store does not answer queries.",
        code: this.#probeFailure.code,
      };
    }
    return undefined;
  }

  /**
   * Asks the store a trivial query, unless a batch is being written or one was committed lately
   * (either tells more than a query) or a probe is still waiting. Never rejects.
   */
  async probe(): Promise<void> {
    if (this.#probing !== undefined || this.#intake.writingSince !== undefined) return;
    if (this.#intake.lastCommit.at >= Date.now() - this.#recentCommitMs) return;
    this.#probing = Date.now();
    try {
      await this.#store.query("SELECT 1 AS ok", { maxRows: 1, timeoutMs: this.#stalledMs });
      this.#probeFailure = undefined;
    } catch (err) {
      this.#logger.warn({ err }, "health check: the store does not answer");
      const code = (err as { code?: unknown }).code;
      this.#probeFailure = { code: typeof code === "string" ? code : "ERR_STORE", at: Date.now() };
    } finally {
      this.#probing = undefined;
    }
  }

  stop(): void {
    clearInterval(this.#timer);
  }
}

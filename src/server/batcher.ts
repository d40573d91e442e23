/**
 * @module server/batcher
 * The bounded intake queue shared by every input. Submissions (an HTTP body, a TCP read, a
 * datagram) are grouped into batches of up to `batchMax` items; each batch goes to every sink at
 * once (`deliver`), and its dead letters to the local dead-letter store (one transaction). Events a
 * sink settles `rejected` become dead letters too (`ERR_SINK_REJECTED`, the sink's name and
 * reason, the document's JSON as the original), written before the batch counts as done. A submission reaching an idle store is written at once; while a
 * batch commits, the next one fills, and goes when the commit ends, at `batchMax`, or `batchMs`
 * after its first item, whichever comes first. A submitter's promise resolves only once
 * every sink settled every event of the batch holding its items and its dead letters are
 * committed: that is what HTTP acknowledges. A sink whose `deliver` rejects fails the batch.
 *
 * The queue counts what is received and not yet committed (waiting or being written), in frames
 * (every frame, a repeated dead letter included, though repeats are stored as one counted row)
 * and in bytes of held text; batches are cut by rows, what a transaction really writes. Past either cap it is `full`, and each input reacts in its own way: HTTP answers
 * 503 + Retry-After, TCP stops reading its sockets until there is room (the sender's TCP window
 * fills: back-pressure, nothing dropped), UDP drops the datagram and counts it (UDP has no way to
 * slow a sender down). Submissions already accepted are never dropped, so the queue can go past
 * its cap by what the inputs had in hand when it filled (one HTTP body slice, one read per
 * connection). The outcome of the last commit is kept, for a health check that tells the truth.
 */
import type { PipelineSink } from "../delivery/index.ts";
import { SINK_REJECTED, sinkRejection, type Settlement } from "../delivery/sink.ts";
import type { DeadLetterRow, EventStore } from "../store/store.ts";
import type { ServerMetrics } from "./metrics.ts";
import { deadLetterCount, type Submission } from "../pipeline/step.ts";

export interface IntakeOptions {
  /** Items (documents + dead letters) per batch; a larger submission is one batch of its own. */
  readonly batchMax: number;
  /** How long the first item of a batch waits for more. */
  readonly batchMs: number;
  /** Items queued or being written above which the queue is full. */
  readonly queueMax: number;
  /** The same, in bytes of received text. */
  readonly queueMaxBytes: number;
  /**
   * Batches handed to the store at once. Two: the store serializes (stringifies) the next batch
   * while the one before commits; more would only queue inside the store, out of our count.
   */
  readonly maxInFlight?: number;
  /**
   * How long each sink may take to settle a batch before the batch fails (its `deliver` is
   * aborted); none: as long as the sink retries. A worker sets it, so that a sink down for long
   * becomes a delayed redelivery of the messages instead of a hold on them.
   */
  readonly deliverTimeoutMs?: number;
}

/** Where the intake's dead letters go: the local store, or a worker's dead-letter stream. */
export type DeadLetterWriter = Pick<EventStore, "write">;

export interface Committed {
  /** Documents every sink took (stored, or already stored: a redelivery of the same `event.id`). */
  readonly accepted: number;
  /** Dead letters: frames that did not normalize, and documents a sink rejected. */
  readonly deadLetters: number;
}

/** The last commit's outcome, for /healthz. */
export interface CommitState {
  readonly ok: boolean;
  /** When it ended (ms since the epoch); 0 before any commit. */
  readonly at: number;
  /** The failure's message, for the log (it may name files: /healthz does not show it). */
  readonly error?: string;
  /** The sink whose `deliver` failed, when one did (not the dead-letter store). */
  readonly sink?: string;
}

interface Waiting {
  readonly submission: Submission;
  /** Rows (documents + distinct dead letters): what a batch is cut by. */
  readonly items: number;
  /** Frames: what the queue's depth counts. */
  readonly frames: number;
  readonly resolve: (value: Committed) => void;
  readonly reject: (reason: unknown) => void;
}

export class Intake {
  readonly #sinks: readonly PipelineSink[];
  readonly #store: DeadLetterWriter;
  readonly #metrics: ServerMetrics;
  readonly #options: Required<Omit<IntakeOptions, "deliverTimeoutMs">> &
    Pick<IntakeOptions, "deliverTimeoutMs">;
  #waiting: Waiting[] = [];
  /** Items in `#waiting`. */
  #waitingItems = 0;
  /** Items and bytes received and not yet committed (waiting or in flight). */
  #depth = 0;
  #depthBytes = 0;
  #inFlight = 0;
  /** When each write in flight began (ms since the epoch), oldest first. */
  readonly #writeStarts: number[] = [];
  #timer: NodeJS.Timeout | undefined;
  readonly #roomListeners = new Set<() => void>();
  readonly #idleListeners = new Set<() => void>();
  #draining = false;
  #lastCommit: CommitState = { ok: true, at: 0 };

  /**
   * `sinks` take every batch's documents; `deadLetterStore` keeps the dead letters (on a server,
   * the local DuckDB store, whatever the sinks are, so that `replay` and `query` of them keep
   * working; on a worker, the broker's dead-letter stream).
   */
  constructor(
    sinks: readonly PipelineSink[],
    deadLetterStore: DeadLetterWriter,
    metrics: ServerMetrics,
    options: IntakeOptions,
  ) {
    this.#sinks = sinks;
    this.#store = deadLetterStore;
    this.#metrics = metrics;
    this.#options = { maxInFlight: 2, ...options };
    // A sink's disk buffer that drains below its mark is room, as a commit that empties the queue is.
    for (const sink of sinks) {
      sink.onRoom?.(() => {
        if (!this.full) for (const listener of [...this.#roomListeners]) listener();
      });
    }
  }

  /** Items received and not yet committed. */
  get depth(): number {
    return this.#depth;
  }

  /** Bytes of text received and not yet committed. */
  get depthBytes(): number {
    return this.#depthBytes;
  }

  /** The queue's byte cap. */
  get maxBytes(): number {
    return this.#options.queueMaxBytes;
  }

  /** Whether new intake must wait (TCP), be refused (HTTP) or be dropped (UDP). */
  get full(): boolean {
    return (
      this.#depth >= this.#options.queueMax ||
      this.#depthBytes >= this.#options.queueMaxBytes ||
      this.#sinks.some((sink) => sink.full === true)
    );
  }

  /** The sink whose disk buffer is full, if one is (for /healthz and the 503's message). */
  get fullSink(): string | undefined {
    return this.#sinks.find((sink) => sink.full === true)?.name;
  }

  /** The outcome of the last commit (ok until one fails; ok again once one succeeds). */
  get lastCommit(): CommitState {
    return this.#lastCommit;
  }

  /** When the oldest write still in flight began (ms since the epoch); undefined when none is. */
  get writingSince(): number | undefined {
    return this.#writeStarts[0];
  }

  /** Resolves once the queue is not full (at once if it is not); rejects when `signal` aborts. */
  room(signal?: AbortSignal): Promise<void> {
    if (!this.full) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      const onAbort = (): void => {
        unsubscribe();
        reject(signal?.reason);
      };
      const unsubscribe = this.onRoom(() => {
        if (this.full) return;
        unsubscribe();
        signal?.removeEventListener("abort", onAbort);
        resolve();
      });
      if (signal?.aborted === true) onAbort();
      else signal?.addEventListener("abort", onAbort, { once: true });
    });
  }

  /** Calls `listener` each time the queue goes from full to not full; returns the unsubscribe. */
  onRoom(listener: () => void): () => void {
    this.#roomListeners.add(listener);
    return () => this.#roomListeners.delete(listener);
  }

  /** Queues a submission; resolves once all its items are committed, rejects if the write failed. */
  submit(submission: Submission): Promise<Committed> {
    const items = submission.docs.length + submission.deadLetters.length;
    if (items === 0) return Promise.resolve({ accepted: 0, deadLetters: 0 });
    const frames = Math.max(submission.frames, items);
    return new Promise<Committed>((resolve, reject) => {
      this.#waiting.push({ submission, items, frames, resolve, reject });
      this.#waitingItems += items;
      this.#depth += frames;
      this.#depthBytes += submission.bytes;
      this.#metrics.queueDepth.set(this.#depth);
      // Group commit: an idle store gets the submission at once (waiting would only add latency);
      // while a batch commits, what arrives accumulates into the next, larger, transaction.
      if (
        this.#draining ||
        this.#inFlight === 0 ||
        this.#waitingItems >= this.#options.batchMax ||
        this.#options.batchMs === 0
      ) {
        this.#flush();
      } else {
        this.#timer ??= setTimeout(() => {
          this.#timer = undefined;
          this.#flush();
        }, this.#options.batchMs);
      }
    });
  }

  /** Writes everything queued now, without waiting for batches to fill; resolves once all is committed. */
  async drain(): Promise<void> {
    this.#draining = true;
    this.#flush();
    if (this.#depth === 0) return;
    await new Promise<void>((resolve) => this.#idleListeners.add(resolve));
  }

  #flush(): void {
    if (this.#timer !== undefined) {
      clearTimeout(this.#timer);
      this.#timer = undefined;
    }
    while (this.#waiting.length > 0 && this.#inFlight < this.#options.maxInFlight) {
      // Whole submissions, at least one, up to batchMax items.
      let take = 0;
      let items = 0;
      while (take < this.#waiting.length) {
        const next = this.#waiting[take]!;
        if (take > 0 && items + next.items > this.#options.batchMax) break;
        items += next.items;
        take++;
      }
      const batch = this.#waiting.splice(0, take);
      this.#waitingItems -= items;
      let frames = 0;
      for (const w of batch) frames += w.frames;
      void this.#write(batch, frames);
    }
  }

  /**
   * Why each event was refused (`sink: reason`, the reasons of every sink that refused it joined),
   * by index; undefined when no sink refused any.
   */
  #refusals(settled: readonly (readonly Settlement[])[], events: number): (string | undefined)[] | undefined {
    let refusals: (string | undefined)[] | undefined;
    settled.forEach((settlements, s) => {
      const name = this.#sinks[s]!.name;
      for (let i = 0; i < events; i++) {
        const settlement = settlements[i];
        if (settlement?.status !== "rejected") continue;
        refusals ??= new Array<string | undefined>(events);
        const reason = sinkRejection(name, settlement.reason);
        refusals[i] = refusals[i] === undefined ? reason : `${refusals[i]}; ${reason}`;
      }
    });
    return refusals;
  }

  async #write(batch: Waiting[], frames: number): Promise<void> {
    this.#inFlight++;
    const startedAt = Date.now();
    this.#writeStarts.push(startedAt);
    const docs = batch.length === 1 ? batch[0]!.submission.docs : batch.flatMap((w) => w.submission.docs);
    const deadLetters =
      batch.length === 1
        ? batch[0]!.submission.deadLetters
        : mergeDeadLetters(batch.map((w) => w.submission.deadLetters));
    const stopTimer = this.#metrics.batchCommitSeconds.startTimer();
    let failedSink: string | undefined;
    const timeout = this.#options.deliverTimeoutMs;
    const signal = timeout === undefined ? undefined : AbortSignal.timeout(timeout);
    try {
      // Every sink at once, and the dead letters beside them: the slowest sets the pace.
      const [settled] = await Promise.all([
        Promise.all(
          this.#sinks.map((sink) =>
            docs.length === 0
              ? ([] as Settlement[])
              : sink.deliver(docs, signal).catch((err: unknown) => {
                  failedSink ??= sink.name;
                  throw err;
                }),
          ),
        ),
        deadLetters.length > 0 ? this.#store.write({ docs: [], deadLetters }) : undefined,
      ]);
      const refusals = this.#refusals(settled, docs.length);
      let rejectedTotal = 0;
      if (refusals !== undefined) {
        const rows: DeadLetterRow[] = [];
        let at = 0;
        for (const w of batch) {
          const { input, receivedAt } = w.submission;
          for (const doc of w.submission.docs) {
            const reason = refusals[at++];
            if (reason !== undefined)
              rows.push({ code: SINK_REJECTED, message: reason, original: doc.json, input, receivedAt });
          }
        }
        rejectedTotal = rows.length;
        await this.#store.write({ docs: [], deadLetters: mergeDeadLetters([rows]) });
        this.#metrics.deadLetters.inc({ code: SINK_REJECTED }, rows.length);
      }
      stopTimer();
      this.#metrics.documents.inc(docs.length - rejectedTotal);
      for (const row of deadLetters) this.#metrics.deadLetters.inc({ code: row.code }, row.count ?? 1);
      let unmapped = 0;
      let unsafe = 0;
      for (const w of batch) {
        unmapped += w.submission.unmappedKeys;
        unsafe += w.submission.unsafeKeys;
      }
      if (unmapped > 0) this.#metrics.unmappedKeys.inc(unmapped);
      if (unsafe > 0) this.#metrics.unsafeKeys.inc(unsafe);
      this.#lastCommit = { ok: true, at: Date.now() };
      let at = 0;
      for (const w of batch) {
        const n = w.submission.docs.length;
        let refused = 0;
        if (refusals !== undefined)
          for (let i = at; i < at + n; i++) if (refusals[i] !== undefined) refused++;
        at += n;
        w.resolve({ accepted: n - refused, deadLetters: deadLetterCount(w.submission) + refused });
      }
    } catch (err) {
      this.#lastCommit = {
        ok: false,
        at: Date.now(),
        error: err instanceof Error ? err.message : String(err),
        ...(failedSink === undefined ? {} : { sink: failedSink }),
      };
      for (const w of batch) w.reject(err);
    } finally {
      const wasFull = this.full;
      this.#inFlight--;
      this.#writeStarts.splice(this.#writeStarts.indexOf(startedAt), 1);
      this.#depth -= frames;
      for (const w of batch) this.#depthBytes -= w.submission.bytes;
      this.#metrics.queueDepth.set(this.#depth);
      // What waited for a free slot goes now: under load, batches form while the store commits.
      if (this.#waiting.length > 0) this.#flush();
      if (wasFull && !this.full) for (const listener of [...this.#roomListeners]) listener();
      if (this.#depth === 0) {
        for (const listener of [...this.#idleListeners]) listener();
        this.#idleListeners.clear();
      }
    }
  }
}

/**
 * The dead letters of several submissions, one row per original text (the store's key), counts
 * summed: slices of one flood, or several senders of the same junk, cost one row per batch.
 */
function mergeDeadLetters(lists: readonly (readonly DeadLetterRow[])[]): DeadLetterRow[] {
  const rows: DeadLetterRow[] = [];
  const at = new Map<string, number>();
  for (const list of lists) {
    for (const row of list) {
      const i = at.get(row.original);
      if (i === undefined) {
        at.set(row.original, rows.length);
        rows.push(row);
      } else {
        const first = rows[i]!;
        rows[i] = { ...first, count: (first.count ?? 1) + (row.count ?? 1) };
      }
    }
  }
  return rows;
}

/**
 * @module delivery/buffer/journal
 * The disk buffer's storage: an LMDB environment (the `lmdb` package) holding one entry per
 * event, keyed by a sequence number that only grows, so that a range read from the first key is
 * the oldest events in append order; a delivered event's entry is removed (LMDB reuses the freed
 * pages, so the file needs no compaction). A second database in the same environment holds the
 * running byte total, updated in the same transaction as the entries, so that opening a buffer of
 * a gigabyte needs no scan.
 *
 * Why LMDB and not a DuckDB file: `bench/buffer.ts` (1,000-event batches of 1.5 KB documents,
 * one synced commit per batch, LMDB waiting for its sync too; Node 20 on 2 shared cores, load 6)
 * measured in two runs LMDB ×1.1 and ×2.1 DuckDB's append rate (28,000 and 47,000 against 26,000
 * and 22,000 events/s) and ×2.9 and ×2.7 its read+delete rate (50,000 and 73,000 against 17,000
 * and 28,000 events/s): the delivery loop, which must catch up after an outage, gains most.
 * LMDB is also a better fit for a queue: copy-on-write B+tree pages with an atomic meta
 * page switch (a commit is all or nothing, kill -9 included; Howard Chu, "MDB: A Memory-Mapped Database and Backend for OpenLDAP", 2011), no WAL to
 * checkpoint, no buffer pool competing with the event store's DuckDB for memory, and its freed
 * pages are reused where DuckDB keeps deleted rows until a checkpoint rewrites their row groups.
 * The package ships N-API prebuilt binaries as optional npm packages (`@lmdb/lmdb-linux-x64`…):
 * installed by npm on Node 20, the same install loads on Node 20 and 24 (both checked).
 */
import { mkdirSync } from "node:fs";
import { open, type Database, type RootDatabase } from "lmdb";
import type { OutEvent } from "../event.ts";
import { SinkError } from "../sink.ts";

/** One buffered event, as the delivery loop reads it back. */
export interface JournalEntry {
  readonly seq: number;
  readonly event: OutEvent;
  /** When the buffer took it (ms since the epoch). */
  readonly at: number;
  /** What it counts against the buffer's cap. */
  readonly size: number;
}

/** The stored form: a msgpack array, smaller than an object with keys. */
type Stored = [
  id: string,
  json: string,
  dataset: string,
  timestamp: number | null,
  host: string | null,
  at: number,
];

const BYTES_KEY = "bytes";
const FAILED_CLOSE_WAIT_MS = 500;

/** An event's bytes as the cap counts them: its texts and a fixed overhead for the key and the frame. */
export function entrySize(event: OutEvent): number {
  return (
    Buffer.byteLength(event.json) +
    Buffer.byteLength(event.id) +
    Buffer.byteLength(event.dataset) +
    (event.host === undefined ? 0 : Buffer.byteLength(event.host)) +
    32
  );
}

function message(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/**
 * The reason of a failed commit: lmdb-js rejects with "Commit failed" and hangs the system's error
 * on a `commitError` promise (rejected: awaited here, else it is an unhandled rejection).
 */
async function commitFailure(err: unknown): Promise<string> {
  const detail =
    err !== null && typeof err === "object" && "commitError" in err ? err.commitError : undefined;
  if (detail instanceof Promise) {
    try {
      await detail;
    } catch (cause) {
      return message(cause);
    }
  }
  return message(err);
}

export class Journal {
  private readonly root: RootDatabase;
  private readonly events: Database<Stored, number>;
  private readonly meta: Database<number, string>;
  private nextSeq: number;
  /** Bytes of the committed entries plus those of appends under way (reserved before their commit). */
  private bytesNow: number;
  private countNow: number;
  /** A commit failed: lmdb-js's promises of that write never settle. */
  private failed = false;

  private constructor(root: RootDatabase, events: Database<Stored, number>, meta: Database<number, string>) {
    this.root = root;
    this.events = events;
    this.meta = meta;
    const last = [...events.getKeys({ reverse: true, limit: 1 })][0];
    this.nextSeq = last === undefined ? 1 : last + 1;
    this.bytesNow = meta.get(BYTES_KEY) ?? 0;
    this.countNow = events.getCount();
  }

  /** Opens (creating it when absent) the buffer in folder `dir`; throws SinkError `ERR_BUFFER_OPEN`. */
  static open(dir: string): Journal {
    try {
      mkdirSync(dir, { recursive: true });
      const root = open({ path: dir, maxDbs: 2, compression: false });
      const events = root.openDB<Stored, number>({ name: "events", compression: false });
      const meta = root.openDB<number, string>({ name: "meta", compression: false });
      return new Journal(root, events, meta);
    } catch (err) {
      throw new SinkError("ERR_BUFFER_OPEN", `cannot open the disk buffer in ${dir}: ${message(err)}`, {
        cause: err,
      });
    }
  }

  get bytes(): number {
    return this.bytesNow;
  }

  get count(): number {
    return this.countNow;
  }

  /**
   * Appends `events` in one transaction and resolves once it is synced to disk (lmdb-js resolves
   * a write at commit and syncs after, its `overlappingSync`: the buffer waits for `flushed`).
   * Sequence numbers and bytes are taken at the call, so concurrent appends keep call order.
   */
  async append(events: readonly OutEvent[], at: number): Promise<void> {
    const first = this.nextSeq;
    this.nextSeq += events.length;
    let size = 0;
    const rows: Stored[] = events.map((e) => {
      size += entrySize(e);
      return [e.id, e.json, e.dataset, e.timestamp ?? null, e.host ?? null, at];
    });
    this.bytesNow += size;
    this.countNow += events.length;
    try {
      await this.root.transaction(() => {
        rows.forEach((row, i) => this.events.putSync(first + i, row));
        this.meta.putSync(BYTES_KEY, (this.meta.get(BYTES_KEY) ?? 0) + size);
      });
      await this.root.flushed;
    } catch (err) {
      this.failed = true;
      this.settleQuietly();
      this.bytesNow -= size;
      this.countNow -= events.length;
      throw new SinkError(
        "ERR_BUFFER_WRITE",
        `the disk buffer could not commit: ${await commitFailure(err)}`,
        {
          cause: err,
        },
      );
    }
  }

  /**
   * After a failed commit lmdb-js also rejects its own `committed` and `flushed` promises, which
   * nobody else awaits: without a handler Node ends the process on that unhandled rejection.
   */
  private settleQuietly(): void {
    Promise.resolve(this.root.committed).catch(() => {});
    Promise.resolve(this.root.flushed).catch(() => {});
  }

  /** The oldest `limit` entries, in append order. */
  peek(limit: number): JournalEntry[] {
    const entries: JournalEntry[] = [];
    for (const { key, value } of this.events.getRange({ limit })) {
      const [id, json, dataset, timestamp, host, at] = value;
      const event: OutEvent = {
        id,
        json,
        dataset,
        timestamp: timestamp ?? undefined,
        host: host ?? undefined,
      };
      entries.push({ seq: key, event, at, size: entrySize(event) });
    }
    return entries;
  }

  /** When the oldest entry was taken, undefined when empty. */
  oldestAt(): number | undefined {
    for (const { value } of this.events.getRange({ limit: 1 })) return value[5];
    return undefined;
  }

  /** Removes `entries` (delivered, or dead-lettered) in one transaction. */
  async forget(entries: readonly JournalEntry[]): Promise<void> {
    if (entries.length === 0) return;
    const size = entries.reduce((sum, e) => sum + e.size, 0);
    try {
      await this.root.transaction(() => {
        for (const e of entries) this.events.removeSync(e.seq);
        this.meta.putSync(BYTES_KEY, Math.max(0, (this.meta.get(BYTES_KEY) ?? 0) - size));
      });
    } catch (err) {
      throw new SinkError(
        "ERR_BUFFER_WRITE",
        `the disk buffer could not forget delivered events: ${await commitFailure(err)}`,
        {
          cause: err,
        },
      );
    }
    this.bytesNow = Math.max(0, this.bytesNow - size);
    this.countNow = Math.max(0, this.countNow - entries.length);
  }

  /**
   * Closes the environment. After a failed commit lmdb-js's close waits for a sync promise that
   * never settles, so then it is given a bounded wait: the process would otherwise never stop.
   */
  async close(): Promise<void> {
    const closing = this.root.close();
    if (!this.failed) return closing;
    closing.catch(() => {});
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      closing,
      new Promise<void>((resolve) => {
        timer = setTimeout(resolve, FAILED_CLOSE_WAIT_MS);
      }),
    ]);
    clearTimeout(timer);
  }
}

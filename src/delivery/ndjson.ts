/**
 * @module delivery/ndjson
 * The `ndjson` sink: the documents as NDJSON, one JSON text a line, to stdout (the default),
 * stderr or a file (created or truncated, or appended to). An event is settled `delivered` once
 * its line is handed to the stream without back-pressure pending (the CLI's output, and a
 * server's local copy). Besides `deliver`, it takes NDJSON text as is (`writeNdjson`): the CLI's
 * worker threads make that text, and the main thread only writes it.
 */
import { z } from "zod";
import { sinks, type Sink } from "../sinks/index.ts";
import {
  DELIVERED,
  SinkError,
  type EventSink,
  type SinkContext,
  type SinkHealth,
  type Settlement,
} from "./sink.ts";
import type { OutEvent } from "./event.ts";

export const ndjsonSettings = z.strictObject({
  /** A file to write; absent: `stream`. */
  path: z.string().min(1).optional(),
  /** The process stream written when there is no `path` (default stdout). */
  stream: z.enum(["stdout", "stderr"]).optional(),
  /** Append to `path` instead of truncating it. */
  append: z.boolean().optional(),
});
export type NdjsonSettings = z.infer<typeof ndjsonSettings>;

/** What an `ndjson` sink writes through; the CLI wraps it to keep its progress bar below the text. */
export type NdjsonTarget = (settings: NdjsonSettings) => Promise<Sink>;

function openTarget(settings: NdjsonSettings): Promise<Sink> {
  if (settings.path !== undefined)
    return sinks.file({ path: settings.path, append: settings.append ?? false });
  return settings.stream === "stderr" ? sinks.stderr() : sinks.stdout();
}

export class NdjsonSink implements EventSink {
  readonly name: string;
  readonly kind = "ndjson";
  readonly #settings: NdjsonSettings;
  readonly #context: SinkContext;
  readonly #open: NdjsonTarget;
  #target: Sink | undefined;
  #failure: { at: number; message: string } | undefined;

  constructor(name: string, settings: NdjsonSettings, context: SinkContext, open: NdjsonTarget = openTarget) {
    this.name = name;
    this.#settings = settings;
    this.#context = context;
    this.#open = open;
  }

  /** A sink over a stream already open (tests, a caller's own stream): `start` opens nothing. */
  static over(name: string, target: Sink, context: SinkContext): NdjsonSink {
    const sink = new NdjsonSink(name, {}, context, async () => target);
    sink.#target = target;
    return sink;
  }

  /** Where it writes, for messages: the path, `stdout` or `stderr`. */
  get target(): string {
    return this.#settings.path ?? this.#settings.stream ?? "stdout";
  }

  /** Opens (and truncates) the file: an unwritable path fails here, before any input is read. */
  async start(): Promise<void> {
    this.#target ??= await this.#open(this.#settings);
  }

  async deliver(events: readonly OutEvent[]): Promise<Settlement[]> {
    let text = "";
    for (const event of events) text += event.json + "\n";
    try {
      if (text !== "") await this.writeNdjson(text);
    } catch (err) {
      throw new SinkError("ERR_SINK_WRITE", err instanceof Error ? err.message : String(err), { cause: err });
    }
    this.#context.metrics.delivered.inc(events.length);
    return events.map(() => DELIVERED);
  }

  /**
   * NDJSON text (lines ending in `\n`) written as is. A promise means wait for it before writing
   * more (back-pressure; a failed write rejects with the `IoError`, whose `code` says EPIPE when
   * the reader went away); `undefined` means go on.
   */
  writeNdjson(text: string | Uint8Array): Promise<void> | undefined {
    const target = this.#target;
    if (target === undefined)
      return Promise.reject(new SinkError("ERR_SINK_NOT_STARTED", `sink ${this.name} was not started`));
    const pending = target.write(text);
    return pending?.catch((err: unknown) => {
      this.#failure ??= { at: Date.now(), message: err instanceof Error ? err.message : String(err) };
      throw err;
    });
  }

  health(): SinkHealth {
    const failure = this.#failure;
    return failure === undefined
      ? { ok: true }
      : { ok: false, failingSince: failure.at, lastError: failure.message };
  }

  /** Flushes what is queued; a file is closed, stdout and stderr only drained. */
  async close(): Promise<void> {
    const target = this.#target;
    this.#target = undefined;
    await target?.close();
  }
}

/** What the `ndjson` kind may be given besides the sink context. */
export interface NdjsonContext extends SinkContext {
  /** Wraps the opened stream (the CLI keeps its progress bar below what is written). */
  readonly wrapTarget?: (target: Sink) => Sink;
}

export function createNdjsonSink(name: string, settings: NdjsonSettings, context: NdjsonContext): NdjsonSink {
  const wrap = context.wrapTarget;
  if (wrap === undefined) return new NdjsonSink(name, settings, context);
  return new NdjsonSink(name, settings, context, async (s) => wrap(await openTarget(s)));
}

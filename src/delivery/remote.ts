/**
 * @module delivery/remote
 * A remote destination (Elasticsearch, Splunk) as a pipeline sink: the kind's own settings plus
 * `buffer`, and, unless `buffer: false`, the kind's sink behind a disk buffer
 * (`delivery/buffer`) in the data folder, so that a sender is acknowledged once its events are
 * on local disk and a destination down for ten minutes loses nothing. What the destination
 * refuses for good reaches the local dead-letter store (`ERR_SINK_REJECTED`, the sink's reason)
 * before the buffer forgets it.
 */
import { join } from "node:path";
import { z } from "zod";
import type { DeadLetterRow, EventStore } from "../store/store.ts";
import { bufferedSink, DEFAULT_MAX_BYTES, type BufferedSink } from "./buffer/buffer.ts";
import { SINK_REJECTED, sinkRejection, type EventSink, type SinkContext, type SinkFactory } from "./sink.ts";

export const bufferSettings = z
  .union([
    z.literal(false),
    z.strictObject({
      /** The cap on the buffer's bytes; past it intake pushes back (HTTP 503, TCP stops reading). */
      max_bytes: z
        .number()
        .int()
        .min(1024 * 1024)
        .default(DEFAULT_MAX_BYTES),
    }),
  ])
  .default({ max_bytes: DEFAULT_MAX_BYTES })
  .describe(
    "A disk buffer in the data folder (default: 1 GiB), or false to deliver straight (acknowledged once delivered)",
  );

export interface RemoteContext extends SinkContext {
  /** Where buffers live (`<data>/buffer`); without it (the CLI) the sink delivers straight. */
  readonly bufferDir?: string;
  /** Where refused documents go; without it they are only counted and logged. */
  readonly localStore?: EventStore;
}

/** The kind's settings with `buffer` added. */
export function remoteSettings<Shape extends z.core.$ZodLooseShape>(
  schema: z.ZodObject<Shape, z.core.$strict>,
): z.ZodObject<Shape & { buffer: typeof bufferSettings }, z.core.$strict> {
  return schema.extend({ buffer: bufferSettings }) as unknown as z.ZodObject<
    Shape & { buffer: typeof bufferSettings },
    z.core.$strict
  >;
}

/** The sink of `factory`, behind a disk buffer when the settings and the context allow. */
export function remoteSink<Settings extends { buffer: false | { max_bytes: number } }>(
  factory: SinkFactory<Omit<Settings, "buffer">>,
): (name: string, settings: Settings, context: RemoteContext) => EventSink | BufferedSink {
  return (name, settings, context) => {
    const { buffer, ...own } = settings;
    const inner = factory(name, own, context);
    if (buffer === false || context.bufferDir === undefined) return inner;
    const store = context.localStore;
    return bufferedSink(inner, {
      dir: join(context.bufferDir, name),
      maxBytes: buffer.max_bytes,
      metrics: context.metrics,
      logger: context.logger,
      async deadLetters(rows) {
        const receivedAt = new Date().toISOString();
        const letters: DeadLetterRow[] = rows.map(({ event, reason }) => ({
          code: SINK_REJECTED,
          message: sinkRejection(name, reason),
          original: event.json,
          input: `sink:${name}`,
          receivedAt,
        }));
        if (store === undefined) {
          context.logger.error(
            { sink: name, events: letters.length },
            "documents refused by the sink (no dead-letter store)",
          );
          return;
        }
        await store.write({ docs: [], deadLetters: letters });
      },
    });
  };
}

/**
 * @module sinks/sink
 * What every sink is: a named output that takes NDJSON text (or its UTF-8 bytes) and pushes back
 * when it is slow.
 */
import { once } from "node:events";
import { finished } from "node:stream/promises";
import type { Writable } from "node:stream";
import { IoError } from "../pipeline/io-error.ts";

export interface Sink {
  /** For messages: a file path, `stdout`, `stderr`. */
  readonly name: string;
  /**
   * Queue text for writing. A promise means "wait for it before writing more" (back-pressure, or
   * a failed write as `IoError`); `undefined` means go on.
   */
  write(text: string | Uint8Array): Promise<void> | undefined;
  /** Flush what is queued, and release the output if the sink owns it. */
  close(): Promise<void>;
}

/** Each sink kind is built by one async factory (async: it may open a file or connect first). */
export type SinkFactory<Options> = (options: Options) => Promise<Sink>;

/**
 * A sink over a Node writable. `end` says whether the sink owns the stream (a file) and ends it
 * on close, or shares it with the process (stdout, stderr) and only waits for it to drain.
 */
export function writableSink(name: string, stream: Writable, options: { end: boolean }): Sink {
  let failure: IoError | undefined;
  // Kept for the life of the stream: an unhandled 'error' event would crash the process.
  stream.on("error", (err) => {
    failure ??= new IoError(`cannot write to ${name}`, err);
  });
  const fail = (err: unknown): never => {
    throw failure ?? new IoError(`cannot write to ${name}`, err);
  };
  return {
    name,
    write(text) {
      if (failure !== undefined) return Promise.reject(failure);
      if (stream.write(text)) return undefined;
      return once(stream, "drain").then(() => undefined, fail);
    },
    async close() {
      if (failure !== undefined) throw failure;
      if (options.end) {
        stream.end();
        await finished(stream).catch(fail);
      } else if (stream.writableNeedDrain) {
        await once(stream, "drain").catch(fail);
      }
    },
  };
}

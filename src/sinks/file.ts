/**
 * @module sinks/file
 * A file, created or truncated (or appended to). The factory waits for the file to open, so an
 * unwritable path fails before any input is read.
 */
import { once } from "node:events";
import { createWriteStream } from "node:fs";
import { IoError } from "../pipeline/io-error.ts";
import { writableSink, type Sink } from "./sink.ts";

export interface FileSinkOptions {
  path: string;
  /** Append instead of truncating (default false). */
  append?: boolean;
}

export async function fileSink(options: FileSinkOptions): Promise<Sink> {
  const { path, append = false } = options;
  // Writes come in batches of a chunk's documents: a large buffer saves syscalls and drains.
  const stream = createWriteStream(path, { flags: append ? "a" : "w", highWaterMark: 1024 * 1024 });
  try {
    await once(stream, "open");
  } catch (err) {
    throw new IoError(`cannot write to ${path}`, err);
  }
  return writableSink(path, stream, { end: true });
}

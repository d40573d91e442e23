/**
 * @module sources/file
 * A file, streamed in large chunks. The factory checks the path before the run starts, so a
 * missing input fails before any output is written.
 */
import { createReadStream } from "node:fs";
import { stat } from "node:fs/promises";
import { IoError } from "../pipeline/io-error.ts";
import { readableChunks, type Source } from "./source.ts";

/**
 * Measured: 64 KiB reads cost no speed next to 1 MiB ones and halve the peak memory of an
 * in-thread run (a chunk's frames and documents die young instead of reaching the old heap).
 * The worker path gathers reads into larger pieces itself.
 */
export const DEFAULT_CHUNK_BYTES = 64 * 1024;

export interface FileSourceOptions {
  path: string;
  /** Bytes per read (default 64 KiB). */
  chunkBytes?: number;
}

export async function fileSource(options: FileSourceOptions): Promise<Source> {
  const { path, chunkBytes = DEFAULT_CHUNK_BYTES } = options;
  let info;
  try {
    info = await stat(path);
  } catch (err) {
    throw new IoError(`cannot read ${path}`, err);
  }
  if (info.isDirectory()) throw new IoError(`cannot read ${path}: is a directory`);
  return {
    name: path,
    // Pipes and devices (`<(cmd)`, /dev/stdin) have no size worth showing.
    size: info.isFile() ? info.size : undefined,
    open: () => readableChunks(createReadStream(path, { highWaterMark: chunkBytes }), path),
  };
}

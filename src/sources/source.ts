/**
 * @module sources/source
 * What every source is: a named input that yields raw bytes, chunk by chunk. Framing, decoding and
 * back-pressure are the pipeline's business: a source only reads, and only as fast as it is pulled.
 */
import type { Readable } from "node:stream";
import { IoError } from "../pipeline/io-error.ts";

export interface Source {
  /** What dead letters name as their input: a file path, `-` for stdin, later a listener. */
  readonly name: string;
  /** Total bytes, when known up front (regular files): the progress bar's total. */
  readonly size?: number;
  /**
   * The bytes, in the order read. A chunk is the consumer's once yielded (it may be kept without
   * a copy), so a source must not reuse its memory. Read errors reject as `IoError`.
   */
  open(): AsyncIterable<Uint8Array>;
}

/** Each source kind is built by one async factory (async: it may stat or bind before the run). */
export type SourceFactory<Options> = (options: Options) => Promise<Source>;

/** The chunks of a readable stream; stopping early (break, throw) destroys the stream. */
export async function* readableChunks(stream: Readable, name: string): AsyncGenerator<Uint8Array> {
  try {
    for await (const chunk of stream) yield chunk as Uint8Array;
  } catch (err) {
    throw new IoError(`cannot read ${name}`, err);
  }
}

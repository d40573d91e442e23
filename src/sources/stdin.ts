/**
 * @module sources/stdin
 * The process's standard input, named `-` as on the command line.
 */
import type { Readable } from "node:stream";
import { readableChunks, type Source } from "./source.ts";

export interface StdinSourceOptions {
  /** The stream to read (default `process.stdin`); tests pass their own. */
  stream?: Readable;
}

export async function stdinSource(options: StdinSourceOptions = {}): Promise<Source> {
  return {
    name: "-",
    open: () => readableChunks(options.stream ?? process.stdin, "stdin"),
  };
}

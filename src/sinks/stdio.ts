/**
 * @module sinks/stdio
 * The process's standard output and standard error. Shared with the rest of the process, so
 * closing only drains them.
 */
import type { Writable } from "node:stream";
import { writableSink, type Sink } from "./sink.ts";

export interface StdioSinkOptions {
  /** The stream to write (default the process's own); tests pass their own. */
  stream?: Writable;
}

export async function stdoutSink(options: StdioSinkOptions = {}): Promise<Sink> {
  return writableSink("stdout", options.stream ?? process.stdout, { end: false });
}

export async function stderrSink(options: StdioSinkOptions = {}): Promise<Sink> {
  return writableSink("stderr", options.stream ?? process.stderr, { end: false });
}

/**
 * @module sinks
 * The registry of sink kinds: one factory each, registered by hand. Databases join here.
 */
import { fileSink } from "./file.ts";
import type { SinkFactory } from "./sink.ts";
import { stderrSink, stdoutSink } from "./stdio.ts";

export const sinks = {
  stdout: stdoutSink,
  stderr: stderrSink,
  file: fileSink,
} satisfies Record<string, SinkFactory<never>>;

export type SinkKind = keyof typeof sinks;
export type { Sink, SinkFactory } from "./sink.ts";
export { writableSink } from "./sink.ts";
export type { FileSinkOptions } from "./file.ts";
export type { StdioSinkOptions } from "./stdio.ts";

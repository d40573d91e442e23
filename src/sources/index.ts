/**
 * @module sources
 * The registry of source kinds: one factory each, registered by hand. Network listeners join here.
 */
import { fileSource } from "./file.ts";
import type { SourceFactory } from "./source.ts";
import { stdinSource } from "./stdin.ts";

export const sources = {
  file: fileSource,
  stdin: stdinSource,
} satisfies Record<string, SourceFactory<never>>;

export type SourceKind = keyof typeof sources;
export type { Source, SourceFactory } from "./source.ts";
export { DEFAULT_CHUNK_BYTES, type FileSourceOptions } from "./file.ts";
export type { StdinSourceOptions } from "./stdin.ts";

/**
 * @module cli/stdout
 * What every command does when the reader of its stdout goes away (`… | head`): end quietly with
 * status 0, as any Unix filter does. Node ignores SIGPIPE, so the failed write arrives as an
 * EPIPE error: on the stream (a direct `process.stdout.write`) or as a sink's `IoError`.
 */
import type { Command } from "commander";

/** A write to a reader that went away: EPIPE, raw or wrapped as `IoError`. */
export function isBrokenPipe(err: unknown): boolean {
  return typeof err === "object" && err !== null && "code" in err && err.code === "EPIPE";
}

/**
 * Keeps a closed stdout from crashing the process with a stack trace: the EPIPE is swallowed
 * (later writes are dropped), any other stdout error is rethrown. Installed once, for every command.
 */
export function quietOnBrokenPipe(stream: NodeJS.WritableStream = process.stdout): void {
  stream.on("error", (err: unknown) => {
    if (!isBrokenPipe(err)) throw err;
    readerGone = true;
  });
}

let readerGone = false;

/**
 * Whether the reader of stdout went away. A command that stops early because of it may see
 * another error first: Node 24 rethrows the AbortError of a source destroyed mid-iteration in
 * place of the write's EPIPE, so the command asks this rather than the error it caught.
 */
export function stdoutReaderGone(): boolean {
  return readerGone;
}

/**
 * True when the user gave `--data` on the command line and not `--server`: that folder is what
 * they asked to read, so no server is asked first (one listening at the default address would
 * otherwise answer for another folder).
 */
export function dataGivenAlone(command: Command): boolean {
  return command.getOptionValueSource("data") === "cli" && command.getOptionValueSource("server") !== "cli";
}

/**
 * @module cli/normalize-command
 * `tanium-ecs normalize [files...]`: Tanium events in, ECS NDJSON out. Exit status 0 when every
 * event became a document, 3 when some went to dead letters, 1 on a usage or I/O error, 130 on
 * Ctrl-C (SIGINT: reading stops at the end of the current line, what was read is written out
 * whole, the summary is printed; a second Ctrl-C exits at once).
 *
 * stderr holds only one kind of text at a time: with the dead letters there (the default), it is
 * pure NDJSON (`2>dead.ndjson` gives a clean file), and the summary line and progress bar show
 * only when stderr is a terminal; with `--dead-letter FILE`, stderr is for people and always gets
 * the summary.
 */
import { stat } from "node:fs/promises";
import { resolve } from "node:path";
import { Command, InvalidArgumentError, Option } from "commander";
import { DEFAULT_MAX_LINE_BYTES } from "../normalize.ts";
import { runPipeline } from "../pipeline/run.ts";
import { deadLetterCount, formatSummary } from "../pipeline/stats.ts";
import { buildSinks, type PipelineSink, type SinkSpec } from "../delivery/index.ts";
import type { Sink } from "../sinks/index.ts";
import { pino } from "pino";
import { sources, type Source } from "../sources/index.ts";
import { createProgress, NO_PROGRESS, type Progress } from "./progress.ts";
import { isBrokenPipe } from "./stdout.ts";
import { ConfigError, ES_API_KEY_ENV, shortcutSinks, SPLUNK_TOKEN_ENV } from "../server/config.ts";

export const EXIT_OK = 0;
export const EXIT_ERROR = 1;
export const EXIT_DEAD_LETTERS = 3;
/** 128 + SIGINT (2), as shells report a command ended by Ctrl-C. */
export const EXIT_INTERRUPTED = 130;

/** A JS string cannot hold much more than this many UTF-16 units; a line never needs to. */
const MAX_LINE_BYTES_LIMIT = 512 * 1024 * 1024;
const MAX_WORKERS = 64;

export interface NormalizeCommandOptions {
  output?: string;
  deadLetter?: string;
  original: boolean;
  maxLineBytes: number;
  workers: number;
  progress: boolean;
  elasticsearch?: string;
  splunkHec?: string;
  splunkToken?: string;
}

export function normalizeCommand(): Command {
  return new Command("normalize")
    .description("Normalize Tanium events (NDJSON, syslog-prefixed lines or one JSON array) to ECS NDJSON.")
    .argument("[files...]", 'input files, "-" for stdin (default: stdin)')
    .option("-o, --output <file>", "write the ECS NDJSON documents here (default: stdout)")
    .option("--dead-letter <file>", "write dead letters here, as ECS NDJSON (default: stderr)")
    .option("--no-original", "leave event.original out")
    .addOption(
      new Option("--max-line-bytes <n>", "cap on one line or array element, in bytes")
        .argParser(integerIn(1, MAX_LINE_BYTES_LIMIT))
        .default(DEFAULT_MAX_LINE_BYTES),
    )
    .addOption(
      new Option("--workers <n>", "worker threads; 0 works in the main thread (output order is kept)")
        .argParser(integerIn(0, MAX_WORKERS))
        .default(0),
    )
    .option("--no-progress", "no progress bar (it shows only for files, on a terminal)")
    .option(
      "--elasticsearch <url>",
      `deliver the documents to Elasticsearch or OpenSearch instead of stdout (API key from env ${ES_API_KEY_ENV})`,
    )
    .option("--splunk-hec <url>", "deliver the documents to a Splunk HTTP Event Collector instead of stdout")
    .option("--splunk-token <token>", `the HEC token of --splunk-hec (or env ${SPLUNK_TOKEN_ENV})`)
    .action(async (files: string[], options: NormalizeCommandOptions) => {
      process.exitCode = await normalizeFiles(files, options);
    });
}

function integerIn(min: number, max: number): (value: string) => number {
  return (value) => {
    const n = /^\d+$/.test(value.trim()) ? Number(value) : NaN;
    if (!Number.isSafeInteger(n) || n < min || n > max) {
      throw new InvalidArgumentError(`Expected a whole number from ${min} to ${max}.`);
    }
    return n;
  };
}

/** Runs the command; returns the exit status. Errors are reported on stderr, in one line. */
export async function normalizeFiles(
  files: readonly string[],
  options: NormalizeCommandOptions,
): Promise<number> {
  const opened: PipelineSink[] = [];
  let progress: Progress = NO_PROGRESS;
  let interrupted = false;
  const onInterrupt = (): void => {
    // The second Ctrl-C: the user does not want to wait for the current line to finish.
    if (interrupted) process.exit(EXIT_INTERRUPTED);
    interrupted = true;
  };
  process.on("SIGINT", onInterrupt);
  try {
    const inputs = (await openInputs(files.length === 0 ? ["-"] : files)).map((source) =>
      untilInterrupted(source, () => interrupted),
    );
    await checkOutputs(files, options);

    const sizes = inputs.map((s) => s.size);
    if (options.progress && process.stderr.isTTY && sizes.every((n) => n !== undefined)) {
      progress = createProgress({ total: sizes.reduce((a, b) => a + b, 0) });
    }
    const bar = progress;
    /** An `ndjson` sink through the registry, started: a file is opened (and truncated) here. */
    const open = async (spec: SinkSpec, beneathBar: boolean): Promise<PipelineSink> => {
      const wrapNdjson = beneathBar ? (target: Sink) => bar.beneath(target) : undefined;
      const [sink] = buildSinks([spec], {
        logger: SILENT,
        ...(wrapNdjson === undefined ? {} : { wrapNdjson }),
      });
      await sink!.start();
      opened.push(sink!);
      return sink!;
    };
    // A backfill to a remote sink: delivered straight (no disk buffer: the command's exit status
    // is the acknowledgement), with the sink's own retries.
    const remote = shortcutSinks(
      {
        elasticsearch: options.elasticsearch,
        splunkHec: options.splunkHec,
        splunkToken: options.splunkToken,
      },
      process.env,
    ).map((spec) => ({ ...spec, settings: { ...(spec.settings as object), buffer: false } }));
    if (remote.length > 1 || (remote.length === 1 && options.output !== undefined)) {
      throw new ConfigError("give one destination: -o FILE, --elasticsearch URL or --splunk-hec URL");
    }
    // Outputs are opened (and truncated) only once every input is known to be readable.
    const output = await open(
      remote[0] ?? {
        name: "output",
        kind: "ndjson",
        settings: options.output === undefined ? { stream: "stdout" } : { path: options.output },
      },
      remote.length === 0 && options.output === undefined && process.stdout.isTTY === true,
    );
    const deadLetters = await open(
      {
        name: "dead-letters",
        kind: "ndjson",
        settings: options.deadLetter === undefined ? { stream: "stderr" } : { path: options.deadLetter },
      },
      options.deadLetter === undefined,
    );

    const stats = await runPipeline({
      inputs,
      output,
      deadLetters,
      original: options.original,
      maxBytes: options.maxLineBytes,
      workers: options.workers,
      onRead: (bytes) => progress.advance(bytes),
    });
    for (const sink of opened.splice(0)) await sink.close();
    progress.stop();
    if (options.deadLetter !== undefined || process.stderr.isTTY) {
      process.stderr.write(formatSummary(stats) + (interrupted ? " (interrupted)\n" : "\n"));
    }
    if (interrupted) return EXIT_INTERRUPTED;
    return deadLetterCount(stats) > 0 || stats.rejected > 0 ? EXIT_DEAD_LETTERS : EXIT_OK;
  } catch (err) {
    // Flush what was written so far; the first error is the one worth reporting.
    for (const sink of opened) await sink.close().catch(() => {});
    progress.stop();
    // The reader went away (`… | head`): that is the user's choice, as for any Unix filter, not a failure.
    if (isBrokenPipe(err) && options.output === undefined) return EXIT_OK;
    process.stderr.write(`tanium-ecs: ${err instanceof Error ? err.message : String(err)}\n`);
    return EXIT_ERROR;
  } finally {
    process.off("SIGINT", onInterrupt);
  }
}

/**
 * The source, ending early once `interrupted()` turns true: at once when what it gave so far ends
 * on a line break, else after the next one, so the last line is read whole, not cut into a dead
 * letter. An input not yet opened gives nothing. (A JSON array input stops between chunks.)
 */
function untilInterrupted(source: Source, interrupted: () => boolean): Source {
  return {
    ...source,
    async *open() {
      if (interrupted()) return;
      let atLineStart = true;
      for await (const chunk of source.open()) {
        if (interrupted()) {
          if (atLineStart) return;
          const newline = chunk.indexOf(0x0a);
          if (newline >= 0) {
            yield chunk.subarray(0, newline + 1);
            return;
          }
        }
        yield chunk;
        if (chunk.length > 0) atLineStart = chunk[chunk.length - 1] === 0x0a;
      }
    },
  };
}

async function openInputs(files: readonly string[]): Promise<Source[]> {
  if (files.filter((f) => f === "-").length > 1) throw new UsageError('stdin ("-") can be read only once.');
  const inputs: Source[] = [];
  for (const file of files)
    inputs.push(file === "-" ? await sources.stdin() : await sources.file({ path: file }));
  return inputs;
}

/**
 * Refuses an output that is an input (it would be truncated before it is read) and one file for
 * both outputs. Only regular files count: writing both to /dev/null, say, is fine.
 */
async function checkOutputs(files: readonly string[], options: NormalizeCommandOptions): Promise<void> {
  const { output, deadLetter } = options;
  if (output === undefined && deadLetter === undefined) return;
  /** A regular file's identity, its resolved path when it does not exist yet, else undefined. */
  const identity = async (path: string): Promise<string | undefined> => {
    const info = await stat(path).catch(() => undefined);
    if (info === undefined) return `path:${resolve(path)}`;
    return info.isFile() ? `inode:${info.dev}:${info.ino}` : undefined;
  };
  const inputIds = new Set(await Promise.all(files.filter((f) => f !== "-").map(identity)));
  inputIds.delete(undefined);
  for (const path of [output, deadLetter]) {
    if (path !== undefined && inputIds.has(await identity(path))) {
      throw new UsageError(`${path} is an input; refusing to overwrite it.`);
    }
  }
  if (output !== undefined && deadLetter !== undefined) {
    const id = await identity(output);
    if (id !== undefined && id === (await identity(deadLetter))) {
      throw new UsageError("--output and --dead-letter must be different files.");
    }
  }
}

/** The sinks' log: the CLI reports on stderr itself. */
const SILENT = pino({ level: "silent" });

class UsageError extends Error {
  override name = "UsageError";
}

/**
 * @module cli/export-command
 * `tanium-ecs export --format ndjson|parquet [--since …] --out FILE`: the stored events for a data
 * lake. NDJSON: each stored ECS document, one per line. Parquet: the typed columns of `events`
 * plus `doc` (the document as JSON text), written by DuckDB. Through the running server
 * (`POST /api/export`, the bytes streamed to FILE) when one answers at `--server`, else on
 * `--data` (directly, when `--data` is given without `--server`). `--out -` writes to stdout.
 * Exit status 0, or 1 on an error (FILE is then removed, never left half written).
 */
import { createWriteStream } from "node:fs";
import { rm } from "node:fs/promises";
import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import type { ReadableStream as WebReadableStream } from "node:stream/web";
import { Command, Option } from "commander";
import {
  CliError,
  openDataDir,
  postToServer,
  serverListening,
  type StoreClientOptions,
} from "../store/client.ts";
import type { ExportFormat } from "../store/store.ts";
import { sinks } from "../sinks/index.ts";
import { sinceInstant } from "./query-command.ts";
import { dataGivenAlone, isBrokenPipe, stdoutReaderGone } from "./stdout.ts";
import { reportFailure, withStoreClientOptions } from "./store-client.ts";

export const EXIT_OK = 0;

export interface ExportCommandOptions extends StoreClientOptions {
  format: ExportFormat;
  since?: string;
  out: string;
  /** Read `--data` without asking a server first (`--data` given without `--server`). */
  direct?: boolean;
}

export function exportCommand(): Command {
  return withStoreClientOptions(
    new Command("export")
      .description("Write the stored events to a file: ECS NDJSON, or Parquet (typed columns + doc).")
      .addOption(
        new Option("--format <format>", "ndjson or parquet").choices(["ndjson", "parquet"]).default("ndjson"),
      )
      .option("--since <age>", "only events since 30m, 1h, 2d, 1w ago, or an ISO-8601 instant")
      .requiredOption("--out <file>", 'the file to write, "-" for stdout'),
  ).action(async (options: ExportCommandOptions, command: Command) => {
    process.exitCode = await runExport({ ...options, direct: dataGivenAlone(command) });
  });
}

export async function runExport(options: ExportCommandOptions): Promise<number> {
  try {
    const since = options.since === undefined ? undefined : sinceInstant(options.since, new Date());
    const rows = await exportTo(options, since);
    const where = options.out === "-" ? "stdout" : options.out;
    process.stderr.write(`exported ${rows ?? "?"} events to ${where} (${options.format})\n`);
    return EXIT_OK;
  } catch (err) {
    // The reader of stdout went away (`… | head`): its choice, not a failure.
    if (options.out === "-" && (isBrokenPipe(err) || stdoutReaderGone())) return EXIT_OK;
    return reportFailure(err);
  }
}

/** Writes the export to `--out`; returns the row count when known. */
async function exportTo(
  options: ExportCommandOptions,
  since: string | undefined,
): Promise<number | undefined> {
  const request = { format: options.format, ...(since === undefined ? {} : { since }) };
  if (options.direct !== true && (await serverListening(options.server))) {
    const response = await postToServer(options, "/api/export", request);
    if (response.body === null) throw new CliError("The server sent no export.");
    await save(Readable.fromWeb(response.body as WebReadableStream), options.out);
    const rows = Number(response.headers.get("x-export-rows"));
    return Number.isFinite(rows) ? rows : undefined;
  }
  const store = await openDataDir(options, true);
  try {
    const exported = await store.exportEvents(request);
    await save(exported.body, options.out);
    return exported.rows;
  } finally {
    await store.close();
  }
}

async function save(source: Readable, out: string): Promise<void> {
  if (out === "-") {
    // Through the stdout sink, as `normalize` writes: back-pressure, and EPIPE as an IoError.
    const stdout = await sinks.stdout();
    try {
      for await (const chunk of source) await stdout.write(chunk as Uint8Array);
    } finally {
      source.destroy();
    }
    await stdout.close();
    return;
  }
  try {
    await pipeline(source, createWriteStream(out));
  } catch (err) {
    await rm(out, { force: true });
    throw err;
  }
}

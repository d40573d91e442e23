/**
 * @module cli/store-client
 * The command-line side that `query`, `replay` and `export` share: how they are told where the
 * events are, and how a failure is reported.
 */
import type { Command } from "commander";
import { CliError, DEFAULT_DATA_DIR, DEFAULT_SERVER, QUERY_TOKEN_ENV, TOKEN_ENV } from "../store/client.ts";

/** `--data`, `--server`, `--token` (see `StoreClientOptions`). */
export function withStoreClientOptions(command: Command): Command {
  return command
    .option("--data <dir>", "the data folder, used when no server answers", DEFAULT_DATA_DIR)
    .option("--server <url>", "the running server to ask first", DEFAULT_SERVER)
    .option(
      "--token <token>",
      `the server's query token (default: $${QUERY_TOKEN_ENV}, else $${TOKEN_ENV}, which serves both when the server has one token)`,
    );
}

/** Prints the failure in one line on stderr; returns the exit status (1 unless it says otherwise). */
export function reportFailure(err: unknown): number {
  process.stderr.write(`tanium-ecs: ${err instanceof Error ? err.message : String(err)}\n`);
  return err instanceof CliError ? err.exitCode : 1;
}

/**
 * @module cli/replay-command
 * `tanium-ecs replay`: runs the dead letters through the current normalizer again (after an
 * upgrade that maps a new shape) and moves those that now succeed into `events`. Through the
 * running server (`POST /api/replay`) when one answers at `--server`, else on `--data`. With
 * `--nats URLS` (or `--config FILE` naming the cluster under `nats`), the dead-letter stream
 * instead: those that now normalize go back to the raw stream for the workers (`broker/replay.ts`).
 * Prints `replayed N, still failing M (by code …)`; exit status 0, 3 when some still fail (as
 * `normalize` does for dead letters), 1 on an error.
 */
import { Command } from "commander";
import { connectBroker } from "../broker/connection.ts";
import { replayDeadLetterStream } from "../broker/replay.ts";
import { brokerCommandConfig } from "./command-config.ts";
import { openDataDir, postToServer, serverListening, type StoreClientOptions } from "../store/client.ts";
import { formatReplay } from "../store/replay.ts";
import { dataGivenAlone } from "./stdout.ts";
import { reportFailure, withStoreClientOptions } from "./store-client.ts";
import type { ReplayResult } from "../store/store.ts";

export const EXIT_OK = 0;
export const EXIT_STILL_FAILING = 3;

export function replayCommand(): Command {
  return withStoreClientOptions(
    new Command("replay").description(
      "Normalize the dead letters again; move those that now succeed into the events table (or, with --nats, back to the raw stream for the workers).",
    ),
  )
    .option("--nats <urls>", "replay the NATS dead-letter stream: nats://n1:4222,nats://n2:4222")
    .option("--config <file>", "settings file naming the NATS cluster under nats (with or without --nats)")
    .action(async (options: ReplayOptions, command: Command) => {
      process.exitCode = await runReplay({ ...options, direct: dataGivenAlone(command) });
    });
}

export interface ReplayOptions extends StoreClientOptions {
  /** Replay `--data` itself, without asking a server first (an explicit `--data`). */
  readonly direct?: boolean;
  /** The NATS servers: replay the dead-letter stream. */
  readonly nats?: string;
  /** A config file whose `nats` names the cluster and its streams. */
  readonly config?: string;
}

export async function runReplay(options: ReplayOptions): Promise<number> {
  try {
    const result =
      options.nats !== undefined || options.config !== undefined
        ? await replayBroker(options)
        : await replay(options);
    process.stdout.write(formatReplay(result) + "\n");
    return result.stillFailing > 0 ? EXIT_STILL_FAILING : EXIT_OK;
  } catch (err) {
    return reportFailure(err);
  }
}

async function replayBroker(options: ReplayOptions): Promise<ReplayResult> {
  const config = brokerCommandConfig(
    options.config,
    options.nats === undefined ? {} : { "nats-servers": options.nats },
    "replay --config: the file names no NATS cluster (nats.servers); or give --nats URLS",
  );
  const broker = await connectBroker(config.nats, { name: `tanium-ecs replay ${process.pid}` });
  try {
    return await replayDeadLetterStream(broker, { maxBytes: config.maxLineBytes });
  } finally {
    await broker.close();
  }
}

async function replay(options: ReplayOptions): Promise<ReplayResult> {
  if (options.direct !== true && (await serverListening(options.server))) {
    const response = await postToServer(options, "/api/replay", {});
    const body = (await response.json()) as {
      replayed: number;
      still_failing: number;
      failing_by_code: Record<string, number>;
    };
    return { replayed: body.replayed, stillFailing: body.still_failing, failingByCode: body.failing_by_code };
  }
  const store = await openDataDir(options, false);
  try {
    return await store.replay();
  } finally {
    await store.close();
  }
}

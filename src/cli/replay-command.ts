/**
 * @module cli/replay-command
 * `tanium-ecs replay`: runs the dead letters through the current normalizer again (after an
 * upgrade that maps a new shape) and moves those that now succeed into `events`. Through the
 * running server (`POST /api/replay`) when one answers at `--server`, else on `--data`.
 * Prints `replayed N, still failing M (by code …)`; exit status 0, 3 when some still fail (as
 * `normalize` does for dead letters), 1 on an error.
 */
import { Command } from "commander";
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
      "Normalize the dead letters again; move those that now succeed into the events table.",
    ),
  ).action(async (options: StoreClientOptions, command: Command) => {
    process.exitCode = await runReplay({ ...options, direct: dataGivenAlone(command) });
  });
}

export interface ReplayOptions extends StoreClientOptions {
  /** Replay `--data` itself, without asking a server first (an explicit `--data`). */
  readonly direct?: boolean;
}

export async function runReplay(options: ReplayOptions): Promise<number> {
  try {
    const result = await replay(options);
    process.stdout.write(formatReplay(result) + "\n");
    return result.stillFailing > 0 ? EXIT_STILL_FAILING : EXIT_OK;
  } catch (err) {
    return reportFailure(err);
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

/**
 * @module cli/until-stopped
 * How `serve` and `worker` stop: the first SIGTERM or SIGINT runs the graceful `close()` (what is
 * in flight is settled), a second one exits at once; then the process exits, so that timers of
 * the metrics and idle sockets do not keep a stopped process alive.
 */
import type { Logger } from "pino";

export async function runUntilStopped(
  handle: { readonly logger: Logger; close(): Promise<void> },
  /** What a second signal skips, for its log line ("draining", "settling"). */
  skipped: string,
): Promise<never> {
  await new Promise<void>((resolve) => {
    let stopping = false;
    const stop = (signal: NodeJS.Signals): void => {
      if (stopping) {
        handle.logger.warn({ signal }, `second signal: exiting without ${skipped}`);
        process.exit(1);
      }
      stopping = true;
      handle.logger.info({ signal }, "signal received");
      handle.close().then(resolve, (err: unknown) => {
        handle.logger.error({ err }, "shutdown failed");
        process.exitCode = 1;
        resolve();
      });
    };
    process.on("SIGTERM", stop);
    process.on("SIGINT", stop);
  });
  process.exit(process.exitCode ?? 0);
}

/**
 * @module cli/progress
 * The progress bar: bytes read out of the inputs' total size, drawn on stderr. Output written to
 * the same terminal goes above the bar (never through it), and the bar is cleared away on stop,
 * so the summary line and any dead letters read cleanly.
 */
import cliProgress from "cli-progress";
import type { Sink } from "../sinks/index.ts";

export interface Progress {
  /** Counts bytes read. */
  advance(bytes: number): void;
  /** The sink, writing above the bar when it shares the bar's terminal. */
  beneath(sink: Sink): Sink;
  /** Clears the bar away; idempotent. */
  stop(): void;
}

/** For runs without a bar (stdin, no terminal, `--no-progress`). */
export const NO_PROGRESS: Progress = {
  advance() {},
  beneath: (sink) => sink,
  stop() {},
};

const CLEAR_LINE = "\r\x1b[2K";
/** Moves the terminal's saved cursor (where the bar restores to on stop) below new output. */
const SAVE_CURSOR = "\x1b7";

export function createProgress(options: { total: number; stream?: NodeJS.WriteStream }): Progress {
  const stream = options.stream ?? process.stderr;
  const size = formatBytes(options.total);
  const bar = new cliProgress.SingleBar({
    stream,
    format: "tanium-ecs {bar} {percentage}% | {done} of {size} | ETA {eta_formatted}",
    barsize: 30,
    // Left visible: an interrupted run must not leave the terminal without a cursor.
    hideCursor: false,
    clearOnComplete: true,
    // Lines written above the bar must wrap as usual; the bar itself stays short.
    linewrap: true,
    // A line written above the bar erases it; redrawing on every tick puts it back.
    forceRedraw: true,
  });
  let done = 0;
  let active = true;
  bar.start(options.total, 0, { done: formatBytes(0), size });
  return {
    advance(bytes) {
      done += bytes;
      if (active) bar.update(Math.min(done, options.total), { done: formatBytes(done), size });
    },
    beneath(sink) {
      return {
        name: sink.name,
        write(text) {
          if (!active) return sink.write(text);
          stream.write(CLEAR_LINE);
          const pending = sink.write(text);
          stream.write(SAVE_CURSOR);
          return pending;
        },
        close: () => sink.close(),
      };
    },
    stop() {
      if (!active) return;
      active = false;
      bar.stop();
    },
  };
}

function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  const units = ["KiB", "MiB", "GiB", "TiB"];
  let value = n / 1024;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${value.toFixed(value < 10 ? 1 : 0)} ${units[unit]}`;
}

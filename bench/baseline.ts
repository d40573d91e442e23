/**
 * @module bench/baseline
 * `tanium-ecs normalize FILE -o /dev/null` of this checkout against another built checkout (the
 * previous main, say) over the same 200,000 generated events, alternating, 3 runs each: the ratio
 * of the mean times says whether `normalize` got slower. Alone:
 * `node --import tsx bench/baseline.ts OTHER_CHECKOUT`; in `npm run bench -- --baseline OTHER_CHECKOUT`.
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { generateLines } from "./generate.ts";

const BIN = fileURLToPath(new URL("../bin/tanium-ecs.js", import.meta.url));
const EVENTS = 200_000;
const ROUNDS = 3;

export async function baselineBench(other: string): Promise<number> {
  const otherBin = join(other, "bin", "tanium-ecs.js");
  const dir = mkdtempSync(join(tmpdir(), "tanium-ecs-bench-baseline-"));
  try {
    const file = join(dir, "events.ndjson");
    writeFileSync(file, generateLines(EVENTS, 11).join("\n") + "\n");
    const seconds = (bin: string): number => {
      const start = process.hrtime.bigint();
      const run = spawnSync(process.execPath, [bin, "normalize", file, "-o", "/dev/null", "--no-progress"]);
      if (run.status !== 0)
        throw new Error(`${bin} normalize exited ${run.status}: ${String(run.stderr).slice(-500)}`);
      return Number(process.hrtime.bigint() - start) / 1e9;
    };
    const ours: number[] = [];
    const theirs: number[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      theirs.push(seconds(otherBin));
      ours.push(seconds(BIN));
    }
    const mean = (xs: readonly number[]): number => xs.reduce((a, b) => a + b, 0) / xs.length;
    const ratio = mean(theirs) / mean(ours);
    console.log(
      `baseline  normalize FILE (${EVENTS.toLocaleString("en-US")} events): this checkout ${mean(ours).toFixed(2)} s, the other ${mean(theirs).toFixed(2)} s (mean of ${ROUNDS}, alternating; runs ${[...ours, ...theirs].map((x) => x.toFixed(1)).join(" ")}) = ${ratio.toFixed(2)} x its speed (aim >= 1.00 within noise)`,
    );
    return ratio;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  await baselineBench(process.argv[2] ?? "");
}

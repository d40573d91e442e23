// Preloaded into the command under test (`node --import`): prints its peak resident memory on exit,
// worker threads included, and the main thread's longest event-loop stall, so that a bench can
// report both without an external tool. The first SIGUSR2 starts the stall count (a bench sends it
// once the server listens: loading modules and opening the store are not what it measures), a
// second one ends it (stopping, which checkpoints the store, is not either).
import { monitorEventLoopDelay } from "node:perf_hooks";

const delay = monitorEventLoopDelay({ resolution: 10 });
delay.enable();
let marks = 0;
let stallNs = 0;
process.on("SIGUSR2", () => {
  marks++;
  if (marks === 1) delay.reset();
  else if (marks === 2) stallNs = delay.max;
});
process.on("exit", () => {
  const stallMs = Math.round((marks >= 2 ? stallNs : delay.max) / 1e6);
  process.stderr.write(`max-rss-kb=${process.resourceUsage().maxRSS}\nmax-loop-delay-ms=${stallMs}\n`);
});

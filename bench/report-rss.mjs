// Preloaded into the command under test (`node --import`): prints its peak resident memory on exit,
// worker threads included, so the bench can report memory without an external tool.
process.on("exit", () => {
  process.stderr.write(`max-rss-kb=${process.resourceUsage().maxRSS}\n`);
});

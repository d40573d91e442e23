#!/usr/bin/env node
// The installed command: runs the compiled CLI (built by `npm ci` through the `prepare` script).
import { existsSync } from "node:fs";

const entry = new URL("../dist/cli/main.js", import.meta.url);
if (!existsSync(entry)) {
  console.error("tanium-ecs: the build is missing; run `npm run build` (npm ci does it).");
  process.exit(1);
}
await import(entry.href);

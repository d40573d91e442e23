/**
 * @module test/server-spawn
 * `tanium-ecs serve` as a child process (through tsx, no build needed), HTTP only on 127.0.0.1
 * port 0 (found in its info log, so keep the log level at info), its data in a temporary folder: for what only a process shows (resident memory, exit on
 * SIGTERM). It reports its peak RSS on exit (bench/report-rss.mjs). `serveCli` runs the built
 * command with the arguments given (kill -9 and restart tests).
 */
import { spawn, type ChildProcess } from "node:child_process";
import { once } from "node:events";
import { rmSync } from "node:fs";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { REPO_ROOT } from "./helpers.ts";
import { tempDir } from "./server-helpers.ts";

export interface SpawnedServer {
  readonly child: ChildProcess;
  readonly url: string;
  readonly dir: string;
  /** Sends SIGTERM; resolves with the exit code, the time it took and the peak RSS in bytes. */
  stop(): Promise<{ code: number | null; ms: number; maxRssBytes: number | undefined }>;
  /** Removes the data folder (after `stop`). */
  cleanup(): void;
}

export async function spawnServer(flags: readonly string[] = []): Promise<SpawnedServer> {
  const dir = tempDir();
  const child = spawn(
    process.execPath,
    [
      "--import",
      "tsx",
      "--import",
      join(REPO_ROOT, "bench", "report-rss.mjs"),
      join(REPO_ROOT, "src", "cli", "main.ts"),
      "serve",
      "--http",
      "127.0.0.1:0",
      "--tcp",
      "off",
      "--udp",
      "off",
      "--data",
      dir,
      ...flags,
    ],
    { cwd: REPO_ROOT, stdio: ["ignore", "pipe", "pipe"] },
  );
  let stderr = "";
  child.stderr!.setEncoding("utf8");
  child.stderr!.on("data", (text: string) => (stderr += text));
  child.stdout!.setEncoding("utf8");
  const port = await new Promise<number>((resolve, reject) => {
    let buffered = "";
    const onData = (text: string): void => {
      buffered += text;
      for (const line of buffered.split("\n")) {
        if (!line.includes('"listening"')) continue;
        const entry = JSON.parse(line) as { port?: number };
        if (typeof entry.port === "number") {
          child.stdout!.off("data", onData);
          // Keep draining the log so the child never blocks on a full pipe.
          child.stdout!.resume();
          resolve(entry.port);
          return;
        }
      }
    };
    child.stdout!.on("data", onData);
    child.once("exit", (code) => reject(new Error(`server exited (${code}) before listening: ${stderr}`)));
  });
  return {
    child,
    url: `http://127.0.0.1:${port}`,
    dir,
    async stop() {
      const start = Date.now();
      const exited = once(child, "exit") as Promise<[number | null]>;
      child.kill("SIGTERM");
      const [code] = await exited;
      const rss = /max-rss-kb=(\d+)/.exec(stderr);
      return { code, ms: Date.now() - start, maxRssBytes: rss === null ? undefined : Number(rss[1]) * 1024 };
    },
    cleanup() {
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export const BIN = join(REPO_ROOT, "bin", "tanium-ecs.js");

export interface Served {
  readonly child: ChildProcess;
  readonly url: string;
  readonly exited: Promise<number | null>;
  readonly stderr: () => string;
}

/** Starts the built CLI (`bin/tanium-ecs.js serve`) and resolves once its `listening` log line for HTTP gives the port. */
export async function serveCli(args: readonly string[]): Promise<Served> {
  const child = spawn(process.execPath, [BIN, "serve", ...args], {
    cwd: REPO_ROOT,
    env: { ...process.env, TANIUM_ECS_TOKEN: "" },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stderr = "";
  child.stderr!.setEncoding("utf8").on("data", (d: string) => (stderr += d));
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  const lines = createInterface({ input: child.stdout! });
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no listening line; stderr: ${stderr}`)), 15_000);
    lines.on("line", (line) => {
      const entry = JSON.parse(line) as { msg?: string; input?: string; port?: number };
      if (entry.msg === "listening" && entry.input === "http" && typeof entry.port === "number") {
        clearTimeout(timer);
        resolve(entry.port);
      }
    });
    void exited.then((code) => reject(new Error(`exited ${code} before listening: ${stderr}`)));
  });
  return { child, url: `http://127.0.0.1:${port}`, exited, stderr: () => stderr };
}

/**
 * @module cli/main
 * The `tanium-ecs` command: one commander program, one module per subcommand. Usage errors
 * (unknown option, bad number) exit 1 with commander's one-line message. A closed stdout
 * (`… | head`) ends every command quietly with status 0 (see cli/stdout).
 */
import { readFileSync } from "node:fs";
import { Command, CommanderError } from "commander";
import { exportCommand } from "./export-command.ts";
import { natsCommand } from "./nats-command.ts";
import { normalizeCommand } from "./normalize-command.ts";
import { queryCommand } from "./query-command.ts";
import { replayCommand } from "./replay-command.ts";
import { serveCommand } from "./serve-command.ts";
import { workerCommand } from "./worker-command.ts";
import { isBrokenPipe, quietOnBrokenPipe } from "./stdout.ts";

/** Read at run time: the same relative path works from src/cli and from dist/cli. */
function packageVersion(): string {
  try {
    const pkg: unknown = JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8"));
    if (pkg !== null && typeof pkg === "object" && "version" in pkg && typeof pkg.version === "string") {
      return pkg.version;
    }
  } catch {
    // A missing manifest only costs the version string.
  }
  return "unknown";
}

/** Settings every command shares; `addCommand` does not pass them down, so each gets them. */
function withCliDefaults(command: Command): Command {
  return command
    .configureOutput({ outputError: (text, write) => write(`tanium-ecs: ${text}`) })
    .showHelpAfterError("(run with --help for usage)")
    .exitOverride();
}

export function createProgram(): Command {
  const program = withCliDefaults(
    new Command("tanium-ecs")
      .description("Tanium endpoint telemetry to Elastic Common Schema (ECS) documents.")
      .version(packageVersion()),
  );
  program.addCommand(withCliDefaults(normalizeCommand()));
  program.addCommand(withCliDefaults(serveCommand()));
  program.addCommand(withCliDefaults(workerCommand()));
  for (const command of [queryCommand(), replayCommand(), exportCommand()])
    program.addCommand(withCliDefaults(command));
  program.addCommand(withCliDefaults(natsCommand(withCliDefaults)));
  return program;
}

quietOnBrokenPipe();
try {
  await createProgram().parseAsync(process.argv);
} catch (err) {
  if (isBrokenPipe(err)) process.exitCode = 0;
  // exitOverride turns commander's own exits into throws; its message is already printed.
  else if (err instanceof CommanderError) process.exitCode = err.exitCode;
  else throw err;
}

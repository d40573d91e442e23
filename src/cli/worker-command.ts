/**
 * @module cli/worker-command
 * `tanium-ecs worker --nats URLS`: takes raw events from the NATS JetStream stream that receivers
 * (`serve --publish`) fill, normalizes them and delivers them to the sinks (DuckDB in `--data`
 * by default, `--elasticsearch`, `--splunk-hec`, or the config file's `sinks`). The same command
 * on more hosts shares the work. Settings: defaults, `--config FILE` (the file `serve` reads;
 * its listeners are not used here), then the flags. SIGTERM/SIGINT: stop pulling, settle and
 * ack what is in flight, exit 0 (a second signal exits 1 at once). Exit 1 on a bad setting, or
 * when NATS, the stream or a sink cannot be used at start.
 */
import { Command } from "commander";
import { brokerCommandConfig, givenFlags } from "./command-config.ts";
import { runUntilStopped } from "./until-stopped.ts";
import { startWorker, type WorkerHandle } from "../broker/worker.ts";
import {
  ConfigError,
  DEFAULTS,
  ES_API_KEY_ENV,
  parseAddress,
  SPLUNK_TOKEN_ENV,
  type ConfigKey,
  type ListenAddress,
} from "../server/config.ts";

/** Each flag and the config key it sets. */
const FLAGS: readonly [flag: string, key: ConfigKey, arg: string, help: string][] = [
  [
    "nats",
    "nats-servers",
    "<urls>",
    "the NATS cluster: nats://n1:4222,nats://n2:4222 (the rest from the config file's nats)",
  ],
  ["data", "data", "<dir>", `data directory of the DuckDB sink, the default one (default ${DEFAULTS.data})`],
  [
    "elasticsearch",
    "elasticsearch",
    "<url>",
    `deliver to Elasticsearch or OpenSearch (API key from env ${ES_API_KEY_ENV})`,
  ],
  ["splunk-hec", "splunk-hec", "<url>", "deliver to a Splunk HTTP Event Collector (https://splunk:8088)"],
  ["splunk-token", "splunk-token", "<token>", `the HEC token of --splunk-hec (or env ${SPLUNK_TOKEN_ENV})`],
  ["log-level", "log-level", "<level>", "fatal, error, warn, info, debug, trace or silent (default info)"],
  ["batch-max", "batch-max", "<n>", `events per sink batch (default ${DEFAULTS["batch-max"]})`],
  ["batch-ms", "batch-ms", "<n>", `how long a batch waits to fill, ms (default ${DEFAULTS["batch-ms"]})`],
];

export function workerCommand(): Command {
  const command = new Command("worker")
    .description(
      "Take raw events from NATS JetStream (filled by serve --publish), normalize them and deliver them to the sinks; more workers share the work.",
    )
    .option("--config <file>", "settings file, YAML or JSON, as serve's (flags win)");
  for (const [flag, , arg, help] of FLAGS) command.option(`--${flag} ${arg}`, help);
  command.option("--no-original", "leave event.original out (config key original: false)");
  command.option("--metrics <addr:port>", "serve /metrics and /healthz there (e.g. 127.0.0.1:9590)");
  command.action(async (options: Record<string, unknown>) => {
    process.exitCode = await work(command, options);
  });
  return command;
}

function fail(message: string): number {
  process.stderr.write(`tanium-ecs worker: ${message}\n`);
  return 1;
}

async function work(command: Command, options: Record<string, unknown>): Promise<number> {
  let config;
  let metricsListen: ListenAddress | undefined;
  try {
    config = brokerCommandConfig(
      typeof options.config === "string" ? options.config : undefined,
      givenFlags(command, options, FLAGS),
      "needs the NATS servers: --nats nats://HOST:4222,… or nats.servers in --config",
    );
    if (typeof options.metrics === "string") {
      metricsListen = parseAddress(options.metrics);
      if (metricsListen === undefined)
        throw new ConfigError(`--metrics must be ADDRESS:PORT (e.g. 127.0.0.1:9590), got ${options.metrics}`);
    }
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    return fail(err.message);
  }

  let handle: WorkerHandle;
  try {
    handle = await startWorker(config, metricsListen === undefined ? {} : { metricsListen });
  } catch (err) {
    // A ConfigError, BrokerError (NATS, the stream, the consumer) or SinkError: each says what to fix.
    return fail(err instanceof Error ? err.message : String(err));
  }
  return runUntilStopped(handle, "settling");
}

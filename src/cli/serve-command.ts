/**
 * @module cli/serve-command
 * `tanium-ecs serve`: the intake server (HTTP, TCP, UDP → normalize → DuckDB). With no flag it
 * listens on loopback (HTTP 9580, TCP 9581, UDP 9582) and stores in `./tanium-data`. Settings
 * come from defaults, `--config FILE` (YAML or JSON), `TANIUM_ECS_TOKEN`, then the flags.
 * SIGTERM/SIGINT: stop accepting, drain, commit, close, exit 0 (a second signal exits 1 at once).
 * Exit 1 on a bad setting or when a listener cannot bind. With `--publish` it is a receiver: raw
 * events go to NATS JetStream (`broker/publisher.ts`), exit 1 when NATS cannot be reached or its
 * stream differs from the settings.
 */
import { Command } from "commander";
import { commandConfig, givenFlags } from "./command-config.ts";
import { runUntilStopped } from "./until-stopped.ts";
import {
  ConfigError,
  DEFAULTS,
  ES_API_KEY_ENV,
  QUERY_TOKEN_ENV,
  SPLUNK_TOKEN_ENV,
  TOKEN_ENV,
  type ConfigKey,
} from "../server/config.ts";
import { startServer } from "../server/server.ts";

/** Each flag is a config key: its long name without `--`. */
const FLAGS: readonly [ConfigKey, string, string][] = [
  ["http", "<addr:port|off>", `HTTP listener (default ${DEFAULTS.http})`],
  ["tcp", "<addr:port|off>", `TCP listener, newline or octet-counted framing (default ${DEFAULTS.tcp})`],
  ["udp", "<addr:port|off>", `UDP listener, one datagram per event (default ${DEFAULTS.udp})`],
  ["data", "<dir>", `data directory holding events.duckdb (default ${DEFAULTS.data})`],
  ["token", "<token>", `ingest token for HTTP (or env ${TOKEN_ENV}); without any token, loopback only`],
  [
    "query-token",
    "<token>",
    `token for /api/* (or env ${QUERY_TOKEN_ENV}); when only one token is given it serves both`,
  ],
  ["token-header", "<name>", "also accept the token in this header (e.g. X-Tanium-Token)"],
  ["tls-cert", "<file>", "PEM certificate: HTTPS and TLS over TCP"],
  ["tls-key", "<file>", "PEM private key for --tls-cert"],
  ["tls-ca", "<file>", "PEM CA: TCP clients must present a certificate it signed (mutual TLS)"],
  ["allow", "<cidr,...>", "sender networks let in on TCP and UDP (e.g. 10.0.0.0/8,::1/128)"],
  [
    "max-body-bytes",
    "<n>",
    `cap on an HTTP body after decompression (default ${DEFAULTS["max-body-bytes"]})`,
  ],
  ["max-line-bytes", "<n>", `cap on one event (default ${DEFAULTS["max-line-bytes"]})`],
  [
    "queue-max",
    "<n>",
    `events received and not committed before intake pushes back (default ${DEFAULTS["queue-max"]})`,
  ],
  ["queue-max-bytes", "<n>", `the same cap in bytes (default ${DEFAULTS["queue-max-bytes"]})`],
  ["batch-max", "<n>", `events per store transaction (default ${DEFAULTS["batch-max"]})`],
  ["batch-ms", "<n>", `how long a batch waits to fill, ms (default ${DEFAULTS["batch-ms"]})`],
  ["max-connections", "<n>", `open TCP connections (default ${DEFAULTS["max-connections"]})`],
  [
    "max-connection-bytes",
    "<n>",
    `uncommitted bytes per TCP connection before it is paused (default ${DEFAULTS["max-connection-bytes"]})`,
  ],
  [
    "idle-timeout",
    "<seconds>",
    `close a silent TCP connection after this long (default ${DEFAULTS["idle-timeout"]})`,
  ],
  [
    "drain-timeout",
    "<seconds>",
    `on SIGTERM, how long requests in flight and what TCP senders already sent may take before the stop closes them (default ${DEFAULTS["drain-timeout"]})`,
  ],
  [
    "max-connections-per-source",
    "<n>",
    `TCP connections one remote address may hold (default ${DEFAULTS["max-connections-per-source"]})`,
  ],
  [
    "udp-receive-buffer",
    "<bytes>",
    `UDP socket receive buffer, capped by net.core.rmem_max (default ${DEFAULTS["udp-receive-buffer"]})`,
  ],
  [
    "body-timeout",
    "<seconds>",
    `answer 408 to an HTTP body not received within this long (default ${DEFAULTS["body-timeout"]})`,
  ],
  [
    "header-timeout",
    "<seconds>",
    `close an HTTP connection whose request headers take longer (default ${DEFAULTS["header-timeout"]})`,
  ],
  ["log-level", "<level>", "fatal, error, warn, info, debug, trace or silent (default info)"],
  [
    "query-timeout",
    "<seconds>",
    `cancel an /api/query statement after this long (default ${DEFAULTS["query-timeout"]})`,
  ],
  ["max-exports", "<n>", `/api/export answers sent at once (default ${DEFAULTS["max-exports"]})`],
  ["retain", "<duration>", "delete events of the DuckDB store older than this (30d, 12h; default: keep all)"],
  [
    "elasticsearch",
    "<url>",
    `deliver to Elasticsearch or OpenSearch (data streams logs-tanium_ecs.*; API key from env ${ES_API_KEY_ENV}), through a disk buffer`,
  ],
  [
    "splunk-hec",
    "<url>",
    "deliver to a Splunk HTTP Event Collector (https://splunk:8088), through a disk buffer",
  ],
  ["splunk-token", "<token>", `the HEC token of --splunk-hec (or env ${SPLUNK_TOKEN_ENV})`],
  [
    "publish",
    "<nats-urls>",
    "be a receiver: publish each raw event to NATS JetStream (nats://n1:4222,nats://n2:4222; the rest of the config file's nats) and acknowledge once the stream has it; workers normalize and deliver",
  ],
];

export function serveCommand(): Command {
  const command = new Command("serve")
    .description(
      "Receive Tanium Connect events over HTTP, TCP and UDP, normalize them and deliver them to DuckDB (the default), Elasticsearch/OpenSearch or Splunk; with --publish, be a receiver: publish them raw to a NATS JetStream stream, which `tanium-ecs worker` processes normalize and deliver.",
    )
    .option("--config <file>", "settings file, YAML or JSON, keys named as these flags (flags win)");
  for (const [key, arg, help] of FLAGS) command.option(`--${key} ${arg}`, help);
  command.option("--no-original", "leave event.original out (config key original: false)");
  command.action(async (options: Record<string, unknown>) => {
    process.exitCode = await serve(command, options);
  });
  return command;
}

async function serve(command: Command, options: Record<string, unknown>): Promise<number> {
  let config;
  try {
    const flags = givenFlags(
      command,
      options,
      FLAGS.map(([key]) => [key, key] as const),
    );
    config = commandConfig(typeof options.config === "string" ? options.config : undefined, flags);
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    process.stderr.write(`tanium-ecs serve: ${err.message}\n`);
    return 1;
  }

  let handle;
  try {
    handle = await startServer(config);
  } catch (err) {
    process.stderr.write(`tanium-ecs serve: ${err instanceof Error ? err.message : String(err)}\n`);
    return 1;
  }
  return runUntilStopped(handle, "draining");
}

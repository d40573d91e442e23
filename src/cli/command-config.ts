/**
 * @module cli/command-config
 * How the commands that run the pipeline (`serve`, `worker`, `replay --nats`, `nats status`) read
 * their settings: the config file when given, the environment, then the flags given on the
 * command line (not commander's defaults: `resolveConfig` has its own, and a file's value must
 * win over a default), through the one validator of `server/config.ts`.
 */
import type { Command } from "commander";
import type { BrokerSettings } from "../broker/settings.ts";
import {
  ConfigError,
  readConfigFile,
  resolveConfig,
  type ConfigKey,
  type RawSettings,
  type ServerConfig,
} from "../server/config.ts";

function camel(key: string): string {
  return key.replace(/-([a-z])/g, (_m, c: string) => c.toUpperCase());
}

/** The flags given on the command line, each under its config key; `--no-original` too. */
export function givenFlags(
  command: Command,
  options: Record<string, unknown>,
  keys: readonly (readonly [flag: string, key: ConfigKey, ...rest: unknown[]])[],
): RawSettings {
  const flags: RawSettings = {};
  for (const [flag, key] of keys) {
    const name = camel(flag);
    if (command.getOptionValueSource(name) === "cli") flags[key] = options[name];
  }
  if (command.getOptionValueSource("original") === "cli") flags.original = options.original;
  return flags;
}

/** The file (if any), the environment, the flags: one config, or a ConfigError naming the key. */
export function commandConfig(file: string | undefined, flags: RawSettings): ServerConfig {
  return resolveConfig({
    ...(file === undefined ? {} : { file: { path: file, settings: readConfigFile(file) } }),
    env: process.env,
    flags,
  });
}

/**
 * The config of a command that talks to NATS only (`worker`, `replay --nats`, `nats status`): the
 * listeners of a shared config file are the receivers', so none here and none of their rules;
 * `missing` is the error when no servers are given.
 */
export function brokerCommandConfig(
  file: string | undefined,
  flags: RawSettings,
  missing: string,
): ServerConfig & { readonly nats: BrokerSettings } {
  const config = commandConfig(file, { http: "off", tcp: "off", udp: "off", ...flags });
  if (config.nats === undefined) throw new ConfigError(missing);
  return { ...config, nats: config.nats };
}

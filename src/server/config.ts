/**
 * @module server/config
 * The server's settings: defaults, then a config file (YAML or JSON, keys spelled as the flags
 * without `--`), then `TANIUM_ECS_TOKEN`, then the flags. Every value goes through one validator,
 * so a bad value is refused at start with a message naming its key and where it came from.
 */
import { readFileSync } from "node:fs";
import { isIP } from "node:net";
import { parse as parseYaml } from "yaml";
import { DEFAULT_MAX_LINE_BYTES } from "../normalize.ts";

export const TOKEN_ENV = "TANIUM_ECS_TOKEN";

/** Where a listener binds; `undefined` when it is `off`. */
export interface ListenAddress {
  readonly host: string;
  readonly port: number;
}

export interface ServerConfig {
  readonly http: ListenAddress | undefined;
  readonly tcp: ListenAddress | undefined;
  readonly udp: ListenAddress | undefined;
  readonly data: string;
  readonly token: string | undefined;
  /** A header that may carry the token instead of `Authorization: Bearer` (lower case). */
  readonly tokenHeader: string | undefined;
  readonly tlsCert: string | undefined;
  readonly tlsKey: string | undefined;
  readonly maxBodyBytes: number;
  readonly maxLineBytes: number;
  /** Documents queued or being committed above which intake is refused (HTTP), paused (TCP), dropped (UDP). */
  readonly queueMax: number;
  /** The same cap, on the bytes of the received text. */
  readonly queueMaxBytes: number;
  readonly batchMax: number;
  readonly batchMs: number;
  readonly maxConnections: number;
  /** Bytes a TCP connection may have received and not yet committed before it is paused. */
  readonly maxConnectionBytes: number;
  /** Seconds without data after which a TCP connection is closed. */
  readonly idleTimeout: number;
  /** Seconds an HTTP request body may take to arrive before it is answered 408. */
  readonly bodyTimeout: number;
  /** Seconds an HTTP client may take to send its request headers. */
  readonly headerTimeout: number;
  /** Seconds a graceful stop waits for requests and connections in flight before closing them. */
  readonly drainTimeout: number;
  readonly logLevel: string;
}

/** The keys of a config file: the long flags without `--`. */
const KEYS = [
  "http",
  "tcp",
  "udp",
  "data",
  "token",
  "token-header",
  "tls-cert",
  "tls-key",
  "max-body-bytes",
  "max-line-bytes",
  "queue-max",
  "queue-max-bytes",
  "batch-max",
  "batch-ms",
  "max-connections",
  "max-connection-bytes",
  "idle-timeout",
  "body-timeout",
  "header-timeout",
  "drain-timeout",
  "log-level",
] as const;
export type ConfigKey = (typeof KEYS)[number];
const KEY_SET: ReadonlySet<string> = new Set(KEYS);

export const DEFAULTS = {
  http: "127.0.0.1:9580",
  tcp: "127.0.0.1:9581",
  udp: "127.0.0.1:9582",
  data: "./tanium-data",
  "max-body-bytes": 16 * 1024 * 1024,
  "max-line-bytes": DEFAULT_MAX_LINE_BYTES,
  "queue-max": 100_000,
  "queue-max-bytes": 256 * 1024 * 1024,
  "batch-max": 1000,
  "batch-ms": 50,
  "max-connections": 256,
  "max-connection-bytes": 8 * 1024 * 1024,
  "idle-timeout": 300,
  "body-timeout": 60,
  "header-timeout": 10,
  "drain-timeout": 10,
  "log-level": "info",
} as const satisfies Partial<Record<ConfigKey, string | number>>;

const LOG_LEVELS = new Set(["fatal", "error", "warn", "info", "debug", "trace", "silent"]);

/** A setting that cannot be used; the message names the key and its source. */
export class ConfigError extends Error {
  override name = "ConfigError";
}

/** Raw values by key, as read from one source (strings from flags, anything from a file). */
export type RawSettings = Partial<Record<ConfigKey, unknown>>;

/** Reads a YAML or JSON config file (JSON is YAML) into raw settings; unknown keys are refused. */
export function readConfigFile(path: string): RawSettings {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (err) {
    throw new ConfigError(`cannot read the config file ${path}: ${(err as Error).message}`);
  }
  let value: unknown;
  try {
    value = parseYaml(text);
  } catch (err) {
    throw new ConfigError(`config file ${path} is not valid YAML or JSON: ${(err as Error).message}`);
  }
  if (value === null || value === undefined) return {};
  if (typeof value !== "object" || Array.isArray(value)) {
    throw new ConfigError(`config file ${path}: expected a mapping of settings, got ${describe(value)}`);
  }
  const settings: RawSettings = Object.create(null) as RawSettings;
  for (const [key, v] of Object.entries(value)) {
    if (!KEY_SET.has(key)) {
      throw new ConfigError(`config file ${path}: unknown key "${key}" (known keys: ${KEYS.join(", ")})`);
    }
    settings[key as ConfigKey] = v;
  }
  return settings;
}

export interface ConfigSources {
  /** The config file's settings and its name, for messages. */
  readonly file?: { readonly path: string; readonly settings: RawSettings };
  /** The process environment (for `TANIUM_ECS_TOKEN`). */
  readonly env?: Readonly<Record<string, string | undefined>>;
  /** Settings given as flags (only those given). */
  readonly flags?: RawSettings;
}

/** Merges and validates; throws ConfigError naming the first bad key. */
export function resolveConfig(sources: ConfigSources): ServerConfig {
  const merged = new Map<ConfigKey, { value: unknown; from: string }>();
  for (const [key, value] of Object.entries(DEFAULTS))
    merged.set(key as ConfigKey, { value, from: "default" });
  if (sources.file !== undefined) {
    for (const [key, value] of Object.entries(sources.file.settings)) {
      if (value !== undefined)
        merged.set(key as ConfigKey, { value, from: `config file ${sources.file.path}` });
    }
  }
  const envToken = sources.env?.[TOKEN_ENV];
  if (envToken !== undefined && envToken !== "") merged.set("token", { value: envToken, from: TOKEN_ENV });
  for (const [key, value] of Object.entries(sources.flags ?? {})) {
    if (value !== undefined) merged.set(key as ConfigKey, { value, from: "command line" });
  }

  const get = (key: ConfigKey): { value: unknown; label: string } => {
    const entry = merged.get(key);
    const label =
      entry === undefined
        ? `"${key}"`
        : entry.from === "command line"
          ? `--${key}`
          : `"${key}" (${entry.from})`;
    return { value: entry?.value, label };
  };
  const int = (key: ConfigKey, min: number, max: number): number => {
    const { value, label } = get(key);
    const n =
      typeof value === "number"
        ? value
        : typeof value === "string" && /^\s*\d+\s*$/.test(value)
          ? Number(value)
          : NaN;
    if (!Number.isSafeInteger(n) || n < min || n > max) {
      throw new ConfigError(`${label} must be a whole number from ${min} to ${max}, got ${describe(value)}`);
    }
    return n;
  };
  const str = (key: ConfigKey): string | undefined => {
    const { value, label } = get(key);
    if (value === undefined || value === null) return undefined;
    if (typeof value !== "string" || value === "") {
      throw new ConfigError(`${label} must be a non-empty string, got ${describe(value)}`);
    }
    return value;
  };
  const address = (key: "http" | "tcp" | "udp"): ListenAddress | undefined => {
    const { value, label } = get(key);
    // YAML 1.1 habits: `http: off` may arrive as false.
    if (value === false || value === "off") return undefined;
    const parsed = typeof value === "string" ? parseAddress(value) : undefined;
    if (parsed === undefined) {
      throw new ConfigError(
        `${label} must be ADDRESS:PORT (e.g. 127.0.0.1:9580, [::1]:9580, 0.0.0.0:0) or off, got ${describe(value)}`,
      );
    }
    return parsed;
  };

  const tokenHeader = str("token-header")?.toLowerCase();
  if (tokenHeader !== undefined && !/^[a-z0-9!#$%&'*+.^_`|~-]+$/.test(tokenHeader)) {
    throw new ConfigError(
      `${get("token-header").label} is not a valid HTTP header name: ${describe(tokenHeader)}`,
    );
  }
  const logLevel = str("log-level") ?? "info";
  if (!LOG_LEVELS.has(logLevel)) {
    throw new ConfigError(
      `${get("log-level").label} must be one of ${[...LOG_LEVELS].join(", ")}, got ${describe(logLevel)}`,
    );
  }
  const config: ServerConfig = {
    http: address("http"),
    tcp: address("tcp"),
    udp: address("udp"),
    data: str("data") ?? DEFAULTS.data,
    token: str("token"),
    tokenHeader,
    tlsCert: str("tls-cert"),
    tlsKey: str("tls-key"),
    maxBodyBytes: int("max-body-bytes", 1, 1024 * 1024 * 1024),
    maxLineBytes: int("max-line-bytes", 1, 512 * 1024 * 1024),
    queueMax: int("queue-max", 1, 100_000_000),
    queueMaxBytes: int("queue-max-bytes", 1, 64 * 1024 * 1024 * 1024),
    batchMax: int("batch-max", 1, 1_000_000),
    batchMs: int("batch-ms", 0, 60_000),
    maxConnections: int("max-connections", 1, 1_000_000),
    maxConnectionBytes: int("max-connection-bytes", 1, 64 * 1024 * 1024 * 1024),
    idleTimeout: int("idle-timeout", 1, 7 * 24 * 3600),
    bodyTimeout: int("body-timeout", 1, 24 * 3600),
    headerTimeout: int("header-timeout", 1, 3600),
    drainTimeout: int("drain-timeout", 0, 3600),
    logLevel,
  };
  if ((config.tlsCert === undefined) !== (config.tlsKey === undefined)) {
    throw new ConfigError("--tls-cert and --tls-key go together: give both or neither");
  }
  if (config.token === undefined) {
    for (const key of ["http", "tcp", "udp"] as const) {
      const listen = config[key];
      if (listen !== undefined && !isLoopback(listen.host)) {
        throw new ConfigError(
          `${get(key).label} binds ${listen.host}, which is not loopback: without a token (--token or ${TOKEN_ENV}) ` +
            "the server listens on loopback only",
        );
      }
    }
  }
  return config;
}

/** `HOST:PORT`, `[IPv6]:PORT`; the host must be an IP address or `localhost`. */
export function parseAddress(text: string): ListenAddress | undefined {
  const m = /^(?:\[([0-9a-fA-F:.]+)\]|([^:[\]]+)):(\d{1,5})$/.exec(text.trim());
  if (m === null) return undefined;
  const host = m[1] ?? m[2] ?? "";
  const port = Number(m[3]);
  if (port > 65535) return undefined;
  if (host !== "localhost" && isIP(host) === 0) return undefined;
  return { host, port };
}

export function isLoopback(host: string): boolean {
  return host === "localhost" || host === "::1" || /^127\.\d+\.\d+\.\d+$/.test(host);
}

/** `host:port`, with brackets for IPv6. */
export function formatAddress(address: ListenAddress): string {
  return address.host.includes(":") ? `[${address.host}]:${address.port}` : `${address.host}:${address.port}`;
}

function describe(value: unknown): string {
  if (value === undefined) return "nothing";
  if (value === null) return "null";
  if (Array.isArray(value)) return "a list";
  if (typeof value === "object") return "a mapping";
  const text = JSON.stringify(value);
  return text.length > 60 ? `${text.slice(0, 60)}…` : text;
}

/**
 * @module server/config
 * The server's settings: defaults, then a config file (YAML or JSON, keys spelled as the flags
 * without `--`), then `TANIUM_ECS_TOKEN` and `TANIUM_ECS_QUERY_TOKEN`, then the flags. Every value goes through one validator,
 * so a bad value is refused at start with a message naming its key and where it came from.
 */
import { readFileSync } from "node:fs";
import { BlockList, isIP, isIPv4 } from "node:net";
import { parse as parseYaml } from "yaml";
import { z } from "zod";
import { sinkKinds, type SinkSpec } from "../delivery/index.ts";
import { DEFAULT_MAX_LINE_BYTES } from "../normalize.ts";
import { natsSettings, type BrokerSettings } from "../broker/settings.ts";
import {
  SETTINGS_SHAPE,
  configFileSchema,
  ConfigFileError,
  describeIssue,
  interpolateEnv,
  parseSinks,
  type SinkSchemas,
} from "./config-file.ts";

export const TOKEN_ENV = "TANIUM_ECS_TOKEN";
/** The API key of `--elasticsearch` (a config file names its own: `api_key: ${ES_API_KEY}`). */
export const ES_API_KEY_ENV = "TANIUM_ECS_ES_API_KEY";
/** The HEC token of `--splunk-hec` when `--splunk-token` is not given. */
export const SPLUNK_TOKEN_ENV = "TANIUM_ECS_SPLUNK_TOKEN";
export const QUERY_TOKEN_ENV = "TANIUM_ECS_QUERY_TOKEN";

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
  /** The ingest token (senders: `/ingest`); when it is the only token given, it serves `/api/*` too. */
  readonly token: string | undefined;
  /** The query token (`/api/*`); when it is the only token given, it serves `/ingest` too. */
  readonly queryToken: string | undefined;
  /** A header that may carry the token instead of `Authorization: Bearer` (lower case). */
  readonly tokenHeader: string | undefined;
  readonly tlsCert: string | undefined;
  readonly tlsKey: string | undefined;
  /** PEM CA bundle: the TCP input then requires client certificates signed by it (mutual TLS). */
  readonly tlsCa: string | undefined;
  /** Sender networks allowed on TCP and UDP (CIDR); `undefined`: any sender that reaches the port. */
  readonly allow: readonly Cidr[] | undefined;
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
  /** Seconds a graceful stop may take: reading what connections already sent, then committing it. */
  readonly drainTimeout: number;
  /** TCP connections one remote address may hold at once. */
  readonly maxConnectionsPerSource: number;
  /** SO_RCVBUF asked for the UDP socket, bytes (the kernel caps it at net.core.rmem_max). */
  readonly udpReceiveBuffer: number;
  /** Seconds an HTTP request body may take to arrive before it is answered 408. */
  readonly bodyTimeout: number;
  /** Seconds an HTTP client may take to send its request headers. */
  readonly headerTimeout: number;
  readonly logLevel: string;
  /** Seconds a statement of `/api/query` may run before it is cancelled. */
  readonly queryTimeout: number;
  /** `/api/export` answers sent at the same time; one more gets 503 + Retry-After. */
  readonly maxExports: number;
  /** Keep the raw event at `event.original` (the `original` key; `--no-original` sets it false). */
  readonly original: boolean;
  /** Where events go (`delivery/index.ts` builds each); empty: the DuckDB store in `data`. */
  readonly sinks: readonly SinkSpec[];
  /** How long the DuckDB store keeps events, ms (`retain: 30d`); undefined: forever. */
  readonly retainMs: number | undefined;
  /**
   * The NATS JetStream cluster (`nats` in the file; `--nats URLS` or `--publish URLS` give its
   * servers); undefined when none is configured.
   */
  readonly nats: BrokerSettings | undefined;
  /** `serve --publish`: the inputs publish raw events to `nats` instead of normalizing and delivering. */
  readonly publish: boolean;
}

export type { SinkSpec };

/**
 * The keys: the long flags without `--`. The flat settings are those the file's schema describes
 * (`SETTINGS_SHAPE`, also the shipped JSON Schema), so the two cannot drift apart; then `sinks`,
 * and the shortcut flags.
 */
const KEYS = [
  ...(Object.keys(SETTINGS_SHAPE) as (keyof typeof SETTINGS_SHAPE)[]),
  "sinks",
  "nats",
  "nats-servers",
  "elasticsearch",
  "splunk-hec",
  "splunk-token",
] as const;
export type ConfigKey = (typeof KEYS)[number];
const KEY_SET: ReadonlySet<string> = new Set(KEYS);
/** Shortcuts for one sink with no config file: a file names its sinks under `sinks`. */
const FLAG_ONLY: ReadonlySet<string> = new Set([
  "elasticsearch",
  "splunk-hec",
  "splunk-token",
  "nats-servers",
]);
const FILE_KEYS = KEYS.filter((key) => !FLAG_ONLY.has(key));

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
  "drain-timeout": 10,
  "max-connections-per-source": 32,
  "udp-receive-buffer": 8 * 1024 * 1024,
  "body-timeout": 60,
  "header-timeout": 10,
  "log-level": "info",
  "query-timeout": 30,
  "max-exports": 2,
  original: true,
} as const satisfies Partial<Record<ConfigKey, string | number | boolean>>;

const LOG_LEVELS = new Set(["fatal", "error", "warn", "info", "debug", "trace", "silent"]);

/** A setting that cannot be used; the message names the key and its source. */
export class ConfigError extends Error {
  override name = "ConfigError";
}

/** Raw values by key, as read from one source (strings from flags, anything from a file). */
export type RawSettings = Partial<Record<ConfigKey, unknown>>;

/**
 * Reads a YAML or JSON config file (JSON is YAML) into raw settings: `${NAME}` replaced by the
 * environment variable, unknown keys refused, `sinks` checked by each kind's schema
 * (`config-file.ts`). Every message names the file and the key.
 */
export function readConfigFile(
  path: string,
  env: Readonly<Record<string, string | undefined>> = process.env,
): RawSettings {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (err) {
    throw new ConfigError(`cannot read the config file ${path}: ${(err as Error).message}`);
  }
  let parsed: unknown;
  try {
    parsed = parseYaml(text);
  } catch (err) {
    throw new ConfigError(`config file ${path} is not valid YAML or JSON: ${(err as Error).message}`);
  }
  if (parsed === null || parsed === undefined) return {};
  if (typeof parsed !== "object" || Array.isArray(parsed)) {
    throw new ConfigError(`config file ${path}: expected a mapping of settings, got ${describe(parsed)}`);
  }
  const settings: RawSettings = Object.create(null) as RawSettings;
  try {
    const value = interpolateEnv(parsed, env) as Record<string, unknown>;
    for (const [key, v] of Object.entries(value)) {
      if (!KEY_SET.has(key) || FLAG_ONLY.has(key)) {
        throw new ConfigError(
          `config file ${path}: unknown key "${key}" (known keys: ${FILE_KEYS.join(", ")})`,
        );
      }
      settings[key as ConfigKey] =
        key === "sinks" ? parseSinks(v, sinkSchemas()) : key === "nats" ? parseNats(v) : v;
    }
  } catch (err) {
    if (err instanceof ConfigFileError) throw new ConfigError(`config file ${path}: ${err.message}`);
    throw err;
  }
  return settings;
}

/** The config file's JSON Schema, as shipped in `schema/` (`npm run schema` writes it). */
export function configJsonSchema(): string {
  const schema = z.toJSONSchema(configFileSchema(sinkSchemas()), { io: "input", unrepresentable: "any" });
  return JSON.stringify({ ...schema, title: "tanium-ecs serve configuration" }, null, 2) + "\n";
}

/** The file's `nats` mapping, checked by its schema (servers may come from a flag instead). */
function parseNats(value: unknown): Record<string, unknown> {
  if (value === null || typeof value !== "object" || Array.isArray(value)) {
    throw new ConfigFileError("nats: expected a mapping (servers, stream, replicas, …)");
  }
  const parsed = natsSettings.safeParse({ servers: "nats://placeholder:4222", ...value });
  if (!parsed.success) throw new ConfigFileError(describeIssue("nats", parsed.error));
  return value as Record<string, unknown>;
}

/** Each sink kind's settings schema, from the registry. */
export function sinkSchemas(): SinkSchemas {
  return Object.fromEntries(Object.entries(sinkKinds).map(([kind, entry]) => [kind, entry.settings]));
}

export interface ShortcutFlags {
  readonly elasticsearch?: string | undefined;
  readonly splunkHec?: string | undefined;
  readonly splunkToken?: string | undefined;
}

/**
 * The sinks of `--elasticsearch URL` and `--splunk-hec URL --splunk-token T` (serve and
 * normalize alike), each checked by its kind's schema; secrets from the environment.
 */
export function shortcutSinks(
  flags: ShortcutFlags,
  env: Readonly<Record<string, string | undefined>>,
): SinkSpec[] {
  const specs: SinkSpec[] = [];
  const sink = (flag: string, name: string, kind: keyof typeof sinkKinds, settings: object): SinkSpec => {
    const parsed = sinkKinds[kind].settings.safeParse(settings);
    if (!parsed.success) throw new ConfigError(describeIssue(`--${flag}`, parsed.error));
    return { name, kind, settings: parsed.data };
  };
  if (flags.elasticsearch !== undefined) {
    const apiKey = env[ES_API_KEY_ENV];
    const auth = apiKey === undefined || apiKey === "" ? {} : { auth: { api_key: apiKey } };
    specs.push(
      sink("elasticsearch", "elasticsearch", "elasticsearch", { url: flags.elasticsearch, ...auth }),
    );
  }
  const envToken = env[SPLUNK_TOKEN_ENV];
  const token = flags.splunkToken ?? (envToken === "" ? undefined : envToken);
  if (flags.splunkHec !== undefined) {
    if (token === undefined) {
      throw new ConfigError(`--splunk-hec needs the HEC token: --splunk-token T or ${SPLUNK_TOKEN_ENV}`);
    }
    specs.push(sink("splunk-hec", "splunk", "splunk_hec", { url: flags.splunkHec, token }));
  } else if (flags.splunkToken !== undefined) {
    throw new ConfigError("--splunk-token goes with --splunk-hec URL");
  }
  return specs;
}

/** `30d`, `12h`, `90m`, `3600s`: a retention, in ms. */
export function parseDuration(text: string): number | undefined {
  const m = /^\s*(\d+)\s*([smhdw])\s*$/.exec(text);
  if (m === null) return undefined;
  const unit = { s: 1, m: 60, h: 3600, d: 86_400, w: 604_800 }[m[2] as "s" | "m" | "h" | "d" | "w"];
  const ms = Number(m[1]) * unit * 1000;
  return Number.isSafeInteger(ms) && ms > 0 ? ms : undefined;
}

export interface ConfigSources {
  /** The config file's settings and its name, for messages. */
  readonly file?: { readonly path: string; readonly settings: RawSettings };
  /** The process environment (for `TANIUM_ECS_TOKEN`, `TANIUM_ECS_QUERY_TOKEN`). */
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
  const envQueryToken = sources.env?.[QUERY_TOKEN_ENV];
  if (envQueryToken !== undefined && envQueryToken !== "") {
    merged.set("query-token", { value: envQueryToken, from: QUERY_TOKEN_ENV });
  }
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
  const bool = (key: ConfigKey): boolean => {
    const { value, label } = get(key);
    if (value === true || value === "true") return true;
    if (value === false || value === "false") return false;
    throw new ConfigError(`${label} must be true or false, got ${describe(value)}`);
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

  const allowList = (): Cidr[] | undefined => {
    const { value, label } = get("allow");
    if (value === undefined || value === null) return undefined;
    // A YAML list or one comma-separated string.
    const items = Array.isArray(value) ? value : typeof value === "string" ? value.split(",") : undefined;
    if (items === undefined || items.length === 0) {
      throw new ConfigError(`${label} must be a list of networks (CIDR), got ${describe(value)}`);
    }
    return items.map((item) => {
      const cidr = typeof item === "string" ? parseCidr(item) : undefined;
      if (cidr === undefined) {
        throw new ConfigError(
          `${label}: ${describe(item)} is not a network in CIDR notation (e.g. 10.0.0.0/8, 192.168.1.7/32, ::1/128)`,
        );
      }
      return cidr;
    });
  };

  const retain = (): number | undefined => {
    const { value, label } = get("retain");
    if (value === undefined || value === null) return undefined;
    const ms = typeof value === "string" ? parseDuration(value) : undefined;
    if (ms === undefined) {
      throw new ConfigError(
        `${label} must be a duration such as 30d, 12h, 90m or 3600s, got ${describe(value)}`,
      );
    }
    return ms;
  };
  const sinkList = (): SinkSpec[] => {
    const { value } = get("sinks");
    const specs: SinkSpec[] = Array.isArray(value) ? [...(value as SinkSpec[])] : [];
    const shortcuts = {
      elasticsearch: str("elasticsearch"),
      splunkHec: str("splunk-hec"),
      splunkToken: str("splunk-token"),
    };
    return [...specs, ...shortcutSinks(shortcuts, sources.env ?? {})];
  };

  /** `nats` of the file, its servers replaced by `--nats`, or by `--publish URLS`. */
  const brokerSettings = (): { nats: BrokerSettings | undefined; publish: boolean } => {
    const file = get("nats").value as Record<string, unknown> | undefined;
    const publishValue = get("publish");
    let publish = false;
    let servers: unknown = get("nats-servers").value;
    if (publishValue.value !== undefined && publishValue.value !== false && publishValue.value !== "false") {
      publish = true;
      if (typeof publishValue.value === "string" && publishValue.value !== "true")
        servers ??= publishValue.value;
    }
    if (file === undefined && servers === undefined) {
      if (publish)
        throw new ConfigError(
          `${publishValue.label} needs the NATS servers: --publish nats://HOST:4222,… or nats.servers`,
        );
      return { nats: undefined, publish };
    }
    const raw = { ...file, ...(servers === undefined ? {} : { servers }) };
    const parsed = natsSettings.safeParse(raw);
    if (!parsed.success) {
      const where =
        servers !== undefined && parsed.error.issues[0]?.path[0] === "servers" ? "--nats/--publish" : "nats";
      throw new ConfigError(describeIssue(where, parsed.error));
    }
    return { nats: parsed.data, publish };
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
    drainTimeout: int("drain-timeout", 1, 3600),
    maxConnectionsPerSource: int("max-connections-per-source", 1, 1_000_000),
    udpReceiveBuffer: int("udp-receive-buffer", 4096, 1024 * 1024 * 1024),
    tlsCa: str("tls-ca"),
    allow: allowList(),
    bodyTimeout: int("body-timeout", 1, 24 * 3600),
    headerTimeout: int("header-timeout", 1, 3600),
    logLevel,
    queryToken: str("query-token"),
    queryTimeout: int("query-timeout", 1, 24 * 3600),
    maxExports: int("max-exports", 1, 1000),
    original: bool("original"),
    sinks: sinkList(),
    retainMs: retain(),
    ...brokerSettings(),
  };
  if ((config.tlsCert === undefined) !== (config.tlsKey === undefined)) {
    throw new ConfigError("--tls-cert and --tls-key go together: give both or neither");
  }
  if (config.tlsCa !== undefined && config.tlsCert === undefined) {
    throw new ConfigError("--tls-ca (client certificates on TCP) needs --tls-cert and --tls-key");
  }
  // TCP and UDP have no token: a network may reach them only behind mutual TLS or an allow-list.
  if (config.tcp !== undefined && !isLoopback(config.tcp.host)) {
    if (config.tlsCa === undefined && config.allow === undefined) {
      throw new ConfigError(
        `${get("tcp").label} binds ${config.tcp.host}, which is not loopback, and TCP has no authentication: ` +
          "add --tls-ca FILE (with --tls-cert and --tls-key: senders need a client certificate signed by that CA) " +
          "or --allow CIDR,… (the sender networks), or bind TCP to loopback",
      );
    }
  }
  if (config.udp !== undefined && !isLoopback(config.udp.host) && config.allow === undefined) {
    throw new ConfigError(
      `${get("udp").label} binds ${config.udp.host}, which is not loopback, and UDP has no authentication: ` +
        "add --allow CIDR,… (the sender networks), or bind UDP to loopback, or --udp off",
    );
  }
  // HTTP without any token (neither kind): nobody but this machine may send or read. TCP and UDP
  // are governed by the rules above, since no token reaches them.
  if (config.token === undefined && config.queryToken === undefined) {
    if (config.http !== undefined && !isLoopback(config.http.host)) {
      throw new ConfigError(
        `${get("http").label} binds ${config.http.host}, which is not loopback: without a token (--token, --query-token, ${TOKEN_ENV} or ${QUERY_TOKEN_ENV}) ` +
          "HTTP listens on loopback only",
      );
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

/** One sender network of `--allow`. */
export interface Cidr {
  readonly address: string;
  readonly prefix: number;
  readonly family: "ipv4" | "ipv6";
}

/** `10.0.0.0/8`, `::1/128`; a bare address is the one host. */
export function parseCidr(text: string): Cidr | undefined {
  const m = /^([^/]+?)(?:\/(\d{1,3}))?$/.exec(text.trim());
  if (m === null) return undefined;
  const address = m[1]!;
  const version = isIP(address);
  if (version === 0) return undefined;
  const max = version === 4 ? 32 : 128;
  const prefix = m[2] === undefined ? max : Number(m[2]);
  if (prefix > max) return undefined;
  return { address, prefix, family: version === 4 ? "ipv4" : "ipv6" };
}

/**
 * The check of `--allow` on a remote address. A dual-stack socket reports IPv4 senders as
 * IPv4-mapped IPv6 (`::ffff:10.1.2.3`, RFC 4291 §2.5.5.2): those are checked as the IPv4 address.
 */
export function allowChecker(cidrs: readonly Cidr[]): (remote: string | undefined) => boolean {
  const list = new BlockList();
  for (const { address, prefix, family } of cidrs) list.addSubnet(address, prefix, family);
  return (remote) => {
    if (remote === undefined) return false;
    const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(remote)?.[1];
    if (mapped !== undefined) return list.check(mapped, "ipv4");
    return list.check(remote, isIPv4(remote) ? "ipv4" : "ipv6");
  };
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

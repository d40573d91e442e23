/**
 * @module server/config-file
 * The config file's schema (zod), shared by the loader and the JSON Schema shipped for editors
 * (`schema/tanium-ecs.config.schema.json`, made by `npm run schema`): the flat settings (the long
 * flags without `--`, their ranges checked by `resolveConfig` for flags and file alike) and
 * `sinks`, a mapping of named sinks, each `type: <kind>` plus that kind's own settings, validated
 * by the kind's schema from the sink registry. Strings may name environment variables as `${NAME}`
 * (secrets stay out of the file); `$${` is a literal `${`.
 */
import { z } from "zod";
import type { SinkSpec } from "../delivery/index.ts";
import { natsSettings } from "../broker/settings.ts";

/** A sink kind's settings schema, as the registry gives it. */
export type SinkSchemas = Readonly<Record<string, z.ZodType>>;

const seconds = (what: string): z.ZodType => z.number().int().min(1).describe(`${what}, in seconds`);
const bytes = (what: string): z.ZodType => z.number().int().min(1).describe(`${what}, in bytes`);
const address = (what: string): z.ZodType =>
  z
    .union([z.string(), z.literal(false)])
    .describe(`${what}: ADDRESS:PORT (127.0.0.1:9580, [::1]:9580, 0.0.0.0:0) or "off"`);

/** The flat settings, by key: what each means (the same words as `serve --help`). */
export const SETTINGS_SHAPE = {
  http: address("The HTTP listener"),
  tcp: address("The TCP listener (NDJSON or octet-counted syslog)"),
  udp: address("The UDP listener (one event per datagram)"),
  data: z.string().describe("The data folder: the DuckDB store, dead letters, disk buffers"),
  token: z.string().describe("The ingest token (senders); serves /api/* too when it is the only token"),
  "token-header": z.string().describe("A header that may carry the token instead of Authorization: Bearer"),
  "tls-cert": z.string().describe("PEM certificate for HTTPS and TLS on TCP"),
  "tls-key": z.string().describe("PEM key of tls-cert"),
  "tls-ca": z.string().describe("PEM CA bundle: TCP senders need a client certificate signed by it"),
  allow: z
    .union([z.array(z.string()), z.string()])
    .describe("Sender networks allowed on TCP and UDP (CIDR list, or one comma-separated string)"),
  "max-body-bytes": bytes("Cap on one HTTP body, after decompression"),
  "max-line-bytes": bytes("Cap on one message"),
  "queue-max": z
    .number()
    .int()
    .min(1)
    .describe("Events received and not yet settled above which intake pushes back"),
  "queue-max-bytes": bytes("The same cap on received text"),
  "batch-max": z.number().int().min(1).describe("Events per batch"),
  "batch-ms": z.number().int().min(0).describe("How long a batch's first event waits for more, in ms"),
  "max-connections": z.number().int().min(1).describe("TCP connections at once"),
  "max-connection-bytes": bytes("What one TCP connection may have in flight before it is paused"),
  "idle-timeout": seconds("Time without data after which a TCP connection is closed"),
  "drain-timeout": seconds("Time a graceful stop may take"),
  "max-connections-per-source": z
    .number()
    .int()
    .min(1)
    .describe("TCP connections one sender address may hold"),
  "udp-receive-buffer": bytes("SO_RCVBUF asked for the UDP socket"),
  "body-timeout": seconds("Time an HTTP body may take to arrive before 408"),
  "header-timeout": seconds("Time an HTTP client may take to send its headers"),
  "log-level": z.enum(["fatal", "error", "warn", "info", "debug", "trace", "silent"]),
  "query-token": z
    .string()
    .describe("The query token (/api/*); serves /ingest too when it is the only token"),
  "query-timeout": seconds("Time a statement of /api/query may run"),
  "max-exports": z.number().int().min(1).describe("/api/export answers sent at the same time"),
  original: z.boolean().describe("Keep the raw event at event.original (default true)"),
  retain: z.string().describe('How long the DuckDB store keeps events, e.g. "30d", "12h" (default: forever)'),
  publish: z
    .union([z.boolean(), z.string()])
    .describe(
      "serve as a receiver: publish raw events to NATS JetStream (true: the servers of nats; or nats://… URLs) for workers to normalize",
    ),
} as const satisfies Record<string, z.ZodType>;

/** The whole file, for the JSON Schema: flat settings plus `sinks`, one entry per kind. */
export function configFileSchema(kinds: SinkSchemas): z.ZodType {
  const entries = Object.entries(kinds).map(([kind, schema]) => {
    const object = schema instanceof z.ZodObject ? schema : z.object({});
    return object.extend({ type: z.literal(kind) }).describe(`A sink of kind ${kind}`);
  });
  const [first, ...rest] = entries;
  const sink = first === undefined ? z.object({ type: z.string() }) : z.union([first, ...rest]);
  return z
    .object({
      ...SETTINGS_SHAPE,
      nats: natsSettings.describe("The NATS JetStream cluster of serve --publish and worker"),
      sinks: z
        .record(z.string().regex(/^[a-z][a-z0-9_-]{0,63}$/), sink)
        .describe("Named sinks; with none, the DuckDB store in the data folder is the sink"),
    })
    .partial()
    .strict();
}

/** A problem in the file: the dotted key it is at, and what is wrong. */
export class ConfigFileError extends Error {
  override name = "ConfigFileError";
}

/** Replaces `${NAME}` in every string of `value` by the variable (a missing one is an error). */
export function interpolateEnv(
  value: unknown,
  env: Readonly<Record<string, string | undefined>>,
  at = "",
): unknown {
  if (typeof value === "string") {
    return value.replace(/\$(\$?)\{([A-Za-z_][A-Za-z0-9_]*)\}/g, (whole, escaped: string, name: string) => {
      if (escaped === "$") return whole.slice(1);
      const found = env[name];
      if (found === undefined) {
        throw new ConfigFileError(`${at || "(top)"}: the environment variable ${name} is not set`);
      }
      return found;
    });
  }
  if (Array.isArray(value)) return value.map((item, i) => interpolateEnv(item, env, `${at}[${i}]`));
  if (value !== null && typeof value === "object") {
    // A null-prototype copy: a key named `__proto__` stays a key, never a prototype.
    const out = Object.create(null) as Record<string, unknown>;
    for (const [key, item] of Object.entries(value))
      out[key] = interpolateEnv(item, env, at === "" ? key : `${at}.${key}`);
    return out;
  }
  return value;
}

function issuePath(prefix: string, path: readonly PropertyKey[]): string {
  return [prefix, ...path.map(String)].filter((part) => part !== "").join(".");
}

/** The first issue of a failed parse, as `key: message`. */
export function describeIssue(prefix: string, error: z.ZodError): string {
  const issue = error.issues[0];
  if (issue === undefined) return `${prefix}: invalid`;
  if (issue.code === "unrecognized_keys") {
    return `${issuePath(prefix, issue.path)}: unknown key${issue.keys.length > 1 ? "s" : ""} ${issue.keys.map((k) => `"${k}"`).join(", ")}`;
  }
  return `${issuePath(prefix, issue.path) || "(top)"}: ${issue.message}`;
}

/**
 * The `sinks` mapping of a file, each entry checked by its kind's schema; errors name
 * `sinks.<name>.<key>`. Environment variables are already interpolated.
 */
export function parseSinks(value: unknown, kinds: SinkSchemas): SinkSpec[] {
  if (value === undefined || value === null) return [];
  if (typeof value !== "object" || Array.isArray(value)) {
    throw new ConfigFileError("sinks: expected a mapping of named sinks (name: {type: …, …})");
  }
  const specs: SinkSpec[] = [];
  for (const [name, entry] of Object.entries(value)) {
    if (!/^[a-z][a-z0-9_-]{0,63}$/.test(name)) {
      throw new ConfigFileError(
        `sinks.${name}: a sink name is lower case letters, digits, _ and -, from a letter`,
      );
    }
    if (entry === null || typeof entry !== "object" || Array.isArray(entry)) {
      throw new ConfigFileError(`sinks.${name}: expected a mapping with a type`);
    }
    const { type, ...settings } = entry as Record<string, unknown>;
    const known = Object.keys(kinds);
    if (type === null && Object.hasOwn(kinds, "null")) {
      throw new ConfigFileError(
        `sinks.${name}.type: write type: "null" (quoted: YAML reads a bare null as no value)`,
      );
    }
    if (typeof type !== "string" || !Object.hasOwn(kinds, type)) {
      throw new ConfigFileError(
        `sinks.${name}.type: expected one of ${known.join(", ")}, got ${JSON.stringify(type)}`,
      );
    }
    const parsed = kinds[type]!.safeParse(settings);
    if (!parsed.success) throw new ConfigFileError(describeIssue(`sinks.${name}`, parsed.error));
    specs.push({ name, kind: type, settings: parsed.data });
  }
  return specs;
}

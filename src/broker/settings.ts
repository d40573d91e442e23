/**
 * @module broker/settings
 * The NATS JetStream hop between receivers (`serve --publish`) and workers (`worker`): where the
 * cluster is, and the stream, consumer and dead-letter stream both sides create when missing and
 * check when present (`broker/topology.ts`). One zod schema for the config file's `nats` mapping,
 * the flags and the shipped JSON Schema. Durations are `30s`, `2m`, `24h`, `7d` or seconds;
 * sizes are `10GB`, `512MB` or bytes.
 *
 * Defaults follow what was measured on NATS 2.9.10 (the Debian package): Limits retention, never
 * WorkQueue (WorkQueue streams stored duplicates and diverged across leader changes before
 * 2.11: nats-server#6140, #6485, #6486), discard new (a full stream refuses publishes, which the
 * receiver turns into HTTP 503, rather than silently dropping the oldest unread events), a
 * 2-minute duplicate window (the server's default; `Nats-Msg-Id` dedupe holds within it only).
 */
import { z } from "zod";

const DURATION = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d|w)?\s*$/;
const UNIT_MS = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 } as const;

/** `30s`, `2m`, `24h`, `500ms`, or a number of seconds: ms. */
export function parseBrokerDuration(value: string | number): number | undefined {
  if (typeof value === "number")
    return Number.isFinite(value) && value > 0 ? Math.round(value * 1000) : undefined;
  const m = DURATION.exec(value);
  if (m === null) return undefined;
  const ms = Number(m[1]) * UNIT_MS[(m[2] ?? "s") as keyof typeof UNIT_MS];
  return Number.isFinite(ms) && ms > 0 ? Math.round(ms) : undefined;
}

const SIZE = /^\s*(\d+(?:\.\d+)?)\s*(B|KB|MB|GB|TB|KiB|MiB|GiB|TiB)?\s*$/i;
const UNIT_BYTES: Record<string, number> = {
  b: 1,
  kb: 1e3,
  mb: 1e6,
  gb: 1e9,
  tb: 1e12,
  kib: 2 ** 10,
  mib: 2 ** 20,
  gib: 2 ** 30,
  tib: 2 ** 40,
};

/** `10GB`, `512MiB`, or a number of bytes. */
export function parseBrokerSize(value: string | number): number | undefined {
  if (typeof value === "number") return Number.isSafeInteger(value) && value > 0 ? value : undefined;
  const m = SIZE.exec(value);
  if (m === null) return undefined;
  const bytes = Math.round(Number(m[1]) * UNIT_BYTES[(m[2] ?? "b").toLowerCase()]!);
  return Number.isSafeInteger(bytes) && bytes > 0 ? bytes : undefined;
}

const duration = (what: string, fallback: string): z.ZodType<number, string | number> =>
  z
    .union([z.string(), z.number()])
    .default(fallback)
    .transform((value, ctx) => {
      const ms = parseBrokerDuration(value);
      if (ms === undefined) {
        ctx.addIssue({
          code: "custom",
          message: `expected a duration such as 30s, 2m, 24h, got ${JSON.stringify(value)}`,
        });
        return z.NEVER;
      }
      return ms;
    })
    .describe(`${what}: 30s, 2m, 24h, 7d, or seconds (default ${fallback})`) as unknown as z.ZodType<
    number,
    string | number
  >;

const size = (what: string, fallback: string): z.ZodType<number, string | number> =>
  z
    .union([z.string(), z.number()])
    .default(fallback)
    .transform((value, ctx) => {
      const bytes = parseBrokerSize(value);
      if (bytes === undefined) {
        ctx.addIssue({
          code: "custom",
          message: `expected a size such as 10GB, 512MiB, got ${JSON.stringify(value)}`,
        });
        return z.NEVER;
      }
      return bytes;
    })
    .describe(`${what}: 10GB, 512MiB, or bytes (default ${fallback})`) as unknown as z.ZodType<
    number,
    string | number
  >;

/** A JetStream stream or consumer name: no spaces, dots, `*`, `>` or path separators (ADR-6). */
const NAME = /^[A-Za-z0-9_-]{1,64}$/;
/** A subject prefix: dot-separated tokens, no wildcards. */
const SUBJECT = /^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*$/;

export const natsSettings = z
  .strictObject({
    servers: z
      .union([z.array(z.string()).min(1), z.string()])
      .transform((value) =>
        (Array.isArray(value) ? value : value.split(",")).map((s) => s.trim()).filter((s) => s !== ""),
      )
      .pipe(
        z
          .array(z.string().regex(/^(nats|tls):\/\/[^\s/]+$/, "expected nats://HOST:PORT or tls://HOST:PORT"))
          .min(1),
      )
      .describe("Seed servers of the cluster: nats://HOST:PORT, a list or one comma-separated string"),
    stream: z.string().regex(NAME).default("TANIUM_RAW").describe("The stream of raw events"),
    subject: z
      .string()
      .regex(SUBJECT)
      .default("tanium.raw")
      .describe("Subject prefix of raw events: <subject>.<input> (http, tcp, udp)"),
    replicas: z
      .number()
      .int()
      .min(1)
      .max(5)
      .default(3)
      .describe("Replicas of the streams (R3 survives one node lost)"),
    max_age: duration("How long the stream keeps an event", "24h"),
    max_bytes: size("The stream's size cap; past it publishes are refused (HTTP 503)", "10GB"),
    duplicate_window: duration("The window within which a repeated Nats-Msg-Id is stored once", "2m"),
    consumer: z
      .string()
      .regex(NAME)
      .default("tanium-ecs-workers")
      .describe("The workers' durable pull consumer"),
    ack_wait: duration("How long a worker may hold a message before it is redelivered", "30s"),
    max_deliver: z
      .number()
      .int()
      .min(2)
      .max(1000)
      .default(10)
      .describe("Deliveries of one message before it goes to the dead-letter stream"),
    max_ack_pending: z
      .number()
      .int()
      .min(1)
      .default(4096)
      .describe("Messages the workers hold unacknowledged at once"),
    dead_letter_stream: z.string().regex(NAME).default("TANIUM_DEAD").describe("The dead-letter stream"),
    dead_letter_subject: z
      .string()
      .regex(SUBJECT)
      .default("tanium.dead")
      .describe("Subject prefix of dead letters: <subject>.<code>"),
    dead_letter_max_age: duration("How long the dead-letter stream keeps a letter", "30d"),
    token: z.string().min(1).optional().describe("Authentication token"),
    user: z.string().min(1).optional().describe("User name (with password)"),
    password: z.string().min(1).optional().describe("Password of user"),
    ca_file: z.string().min(1).optional().describe("PEM CA bundle for tls:// servers"),
    publish_timeout: duration(
      "How long a receiver retries a publish (a leader election takes seconds) before HTTP 503",
      "30s",
    ),
    max_in_flight: z
      .number()
      .int()
      .min(1)
      .max(65_536)
      .default(2048)
      .describe("Publishes awaiting their ack at once, per receiver"),
  })
  .superRefine((value, ctx) => {
    if ((value.user === undefined) !== (value.password === undefined))
      ctx.addIssue({ code: "custom", message: "user and password go together", path: ["user"] });
    if (
      value.subject === value.dead_letter_subject ||
      value.subject.startsWith(`${value.dead_letter_subject}.`) ||
      value.dead_letter_subject.startsWith(`${value.subject}.`)
    )
      ctx.addIssue({
        code: "custom",
        message: "subject and dead_letter_subject must not overlap",
        path: ["dead_letter_subject"],
      });
    if (value.stream === value.dead_letter_stream)
      ctx.addIssue({
        code: "custom",
        message: "stream and dead_letter_stream must differ",
        path: ["dead_letter_stream"],
      });
  });

export type BrokerSettings = z.output<typeof natsSettings>;
export type BrokerSettingsInput = z.input<typeof natsSettings>;

/**
 * @module cli/nats-command
 * `tanium-ecs nats status --nats URLS [--config FILE] [--json]`: the broker hop as the cluster
 * reports it now (`broker/status.ts`): the raw stream's depth and replicas, the workers' consumer
 * lag, unacknowledged and redelivered messages, the dead letters by code. The stream and consumer
 * names come from the config file's `nats` mapping, as for `serve --publish` and `worker`.
 * Exit 0; 2 when a stream or the consumer does not exist yet (it is printed as such); 1 when
 * NATS cannot be reached or a setting is wrong.
 */
import { Command } from "commander";
import { connectBroker } from "../broker/connection.ts";
import {
  brokerStatus,
  isMissing,
  type BrokerStatus,
  type ConsumerStatus,
  type ReplicaStatus,
  type StreamStatus,
} from "../broker/status.ts";
import { brokerCommandConfig } from "./command-config.ts";

export const EXIT_OK = 0;
export const EXIT_ERROR = 1;
export const EXIT_MISSING = 2;

interface StatusOptions {
  readonly nats?: string;
  readonly config?: string;
  readonly json?: boolean;
}

/** `nats` and its subcommands; `withDefaults` gives each subcommand the program's error handling. */
export function natsCommand(withDefaults: (command: Command) => Command = (c) => c): Command {
  const nats = new Command("nats").description("The NATS JetStream hop between receivers and workers.");
  nats.addCommand(
    withDefaults(
      new Command("status")
        .description(
          "Show the raw stream (depth, bytes, replicas), the workers' consumer (lag, unacknowledged, redelivered) and the dead letters by code. Exit 2 when a stream or the consumer does not exist yet.",
        )
        .option("--nats <urls>", "NATS servers, nats://n1:4222,nats://n2:4222 (or nats.servers of --config)")
        .option("--config <file>", "the settings file of serve --publish and worker (its nats mapping)")
        .option("--json", "print the figures as JSON")
        .action(async (options: StatusOptions) => {
          process.exitCode = await runStatus(options);
        }),
    ),
  );
  return nats;
}

async function runStatus(options: StatusOptions): Promise<number> {
  let broker;
  try {
    const config = brokerCommandConfig(
      options.config,
      options.nats === undefined ? {} : { "nats-servers": options.nats },
      "nats status needs the NATS servers: --nats nats://HOST:4222,… or nats.servers in --config",
    );
    broker = await connectBroker(config.nats, { name: "tanium-ecs nats status", timeoutMs: 5000 });
    const status = await brokerStatus(broker.jsm, config.nats);
    process.stdout.write(
      options.json === true ? `${JSON.stringify(status, null, 2)}\n` : formatStatus(status),
    );
    const missing = isMissing(status.raw) || isMissing(status.consumer) || isMissing(status.deadLetters);
    return missing ? EXIT_MISSING : EXIT_OK;
  } catch (err) {
    process.stderr.write(`tanium-ecs: ${err instanceof Error ? err.message : String(err)}\n`);
    return EXIT_ERROR;
  } finally {
    await broker?.close();
  }
}

const count = (n: number): string => n.toLocaleString("en-US");

/** Decimal units, as the settings take them (`max_bytes: 10GB` is 10^10 bytes). */
function size(bytes: number): string {
  const units = ["B", "kB", "MB", "GB", "TB"];
  let value = bytes;
  let unit = 0;
  while (value >= 1000 && unit < units.length - 1) {
    value /= 1000;
    unit++;
  }
  return unit === 0 ? `${bytes} B` : `${value.toFixed(value < 10 ? 2 : 1)} ${units[unit]}`;
}

function duration(ms: number): string {
  if (ms <= 0) return "none";
  for (const [unit, per] of [
    ["d", 86_400_000],
    ["h", 3_600_000],
    ["m", 60_000],
    ["s", 1000],
  ] as const) {
    // 24h reads as the default is written (`max_age: 24h`), not as 1d.
    if (ms >= per && ms % per === 0 && !(unit === "d" && ms === per)) return `${ms / per}${unit}`;
  }
  return `${ms}ms`;
}

/** `leader n1; n2 current, seen 0.2 s ago; n3 offline, 5 behind, seen 12.0 s ago`. */
function replicas(leader: string | undefined, followers: readonly ReplicaStatus[], lone: boolean): string {
  if (lone && followers.length === 0) return "one server";
  const parts = followers.map((f) => {
    const state = f.offline ? "offline" : f.current ? "current" : "lagging";
    const behind = f.lag > 0 ? `, ${count(f.lag)} behind` : "";
    return `${f.name} ${state}${behind}, seen ${(f.lastSeenMs / 1000).toFixed(1)} s ago`;
  });
  return [`leader ${leader ?? "none (an election?)"}`, ...parts].join("; ");
}
const counts = (byKey: Readonly<Record<string, number>>): string => {
  const entries = Object.entries(byKey).sort(([a], [b]) => a.localeCompare(b));
  return entries.length === 0 ? "none" : entries.map(([key, n]) => `${key} ${count(n)}`).join(", ");
};

function rows(title: string, pairs: readonly (readonly [string, string])[]): string {
  const width = Math.max(...pairs.map(([key]) => key.length));
  return `${title}\n${pairs.map(([key, value]) => `  ${key.padEnd(width)}  ${value}`).join("\n")}\n`;
}

function streamRows(stream: StreamStatus): [string, string][] {
  const cap =
    stream.maxBytes < 0
      ? ", no cap"
      : ` of ${size(stream.maxBytes)} max_bytes (${((stream.bytes / stream.maxBytes) * 100).toFixed(1)} %)`;
  return [
    ["messages", count(stream.messages)],
    ["bytes", `${size(stream.bytes)}${cap}`],
    [
      "sequence",
      stream.messages === 0
        ? `empty (last ${count(stream.lastSeq)})`
        : `${count(stream.firstSeq)} .. ${count(stream.lastSeq)}`,
    ],
    ["oldest", `${stream.firstTime ?? "-"} (max_age ${duration(stream.maxAgeMs)})`],
    ["newest", stream.lastTime ?? "-"],
    ["replicas", `${stream.replicas}: ${replicas(stream.leader, stream.followers, stream.replicas === 1)}`],
  ];
}

function consumerRows(consumer: ConsumerStatus): [string, string][] {
  return [
    ["lag (pending)", count(consumer.pending)],
    ["ack pending", `${count(consumer.ackPending)} (max_ack_pending ${count(consumer.maxAckPending)})`],
    ["redelivered", `${count(consumer.redelivered)} of the unacknowledged`],
    ["waiting pulls", count(consumer.waiting)],
    ["delivered", `stream seq ${count(consumer.delivered.streamSeq)}`],
    ["ack floor", `stream seq ${count(consumer.ackFloor.streamSeq)}`],
    ["ack wait", `${duration(consumer.ackWaitMs)}, max_deliver ${consumer.maxDeliver}`],
    ["replicas", replicas(consumer.leader, consumer.followers, consumer.followers.length === 0)],
  ];
}

/** The status as a readable text, one block per part. */
export function formatStatus(status: BrokerStatus): string {
  const { raw, consumer, deadLetters } = status;
  const blocks: string[] = [];
  blocks.push(
    isMissing(raw)
      ? `Raw stream: ${raw.missing}\n`
      : rows(`Raw stream ${raw.name}`, [...streamRows(raw), ["by subject", counts(raw.bySubject)]]),
  );
  blocks.push(
    isMissing(consumer)
      ? `Consumer: ${consumer.missing}\n`
      : rows(`Consumer ${consumer.name} (stream ${consumer.stream})`, consumerRows(consumer)),
  );
  blocks.push(
    isMissing(deadLetters)
      ? `Dead letters: ${deadLetters.missing}\n`
      : rows(`Dead letters ${deadLetters.name}`, [
          ...streamRows(deadLetters).map(([key, value]): [string, string] => [
            key === "messages" ? "letters" : key,
            value,
          ]),
          ["by code", counts(deadLetters.byCode)],
        ]),
  );
  return blocks.join("\n");
}

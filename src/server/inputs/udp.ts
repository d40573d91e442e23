/**
 * @module server/inputs/udp
 * The UDP input: one datagram, one message (RFC 5426 §3.1), a trailing newline trimmed. UDP is
 * best effort and has no back-pressure; what it promises is that every loss is counted in
 * `tanium_ecs_udp_dropped_total`: the datagrams we drop while the queue is full (logged, at most
 * one warning a second) and those the kernel drops when the socket's receive buffer is full (the
 * `drops` column of /proc/net/udp and /proc/net/udp6 for this socket, read at each scrape, on
 * Linux). The receive buffer is set large (`--udp-receive-buffer`) to ride out bursts; the kernel
 * caps it at net.core.rmem_max and the granted size is logged. Senders outside `--allow` are
 * dropped and counted in `tanium_ecs_denied_total{input="udp"}`. Use TCP or HTTP when losing
 * events under load is not acceptable.
 */
import { createSocket, type RemoteInfo, type Socket } from "node:dgram";
import { readdirSync, readFileSync, readlinkSync } from "node:fs";
import { isIPv6 } from "node:net";
import type { Frame } from "../../framing/index.ts";
import { decodeHead, DEFAULT_HEAD_BYTES } from "../../framing/lines.ts";
import { allowChecker, formatAddress, type Cidr } from "../config.ts";
import { collect as collectFrames } from "../../pipeline/step.ts";
import type { Input, InputFactory, ListenOptions } from "./input.ts";

export interface UdpInputOptions extends ListenOptions {
  /** SO_RCVBUF to ask for, bytes. */
  readonly receiveBuffer: number;
  /** Sender networks let in; `undefined`: every sender. */
  readonly allow: readonly Cidr[] | undefined;
}

export const udp: InputFactory<UdpInputOptions> = async (options, context) => {
  const { intake, metrics, logger } = context;
  const socket = createSocket({
    type: isIPv6(options.listen.host) ? "udp6" : "udp4",
    recvBufferSize: options.receiveBuffer,
  });
  const allowed = options.allow === undefined ? undefined : allowChecker(options.allow);
  let dropped = 0;
  let denied = 0;
  let lastWarning = 0;
  const warn = (message: string, fields: Record<string, unknown>): void => {
    const now = Date.now();
    if (now - lastWarning < 1000) return;
    lastWarning = now;
    logger.warn({ input: "udp", ...fields }, message);
  };

  socket.on("message", (msg: Buffer, rinfo: RemoteInfo) => {
    if (allowed !== undefined && !allowed(rinfo.address)) {
      denied++;
      metrics.denied.inc({ input: "udp" });
      warn("datagram from a sender not in --allow dropped", { denied, remote: rinfo.address });
      return;
    }
    metrics.received.inc({ input: "udp" });
    if (intake.full) {
      dropped++;
      metrics.udpDropped.inc();
      warn("queue full: UDP datagrams dropped (UDP has no back-pressure)", { dropped });
      return;
    }
    let end = msg.length;
    while (end > 0 && (msg[end - 1] === 0x0a || msg[end - 1] === 0x0d)) end--;
    if (end === 0) return;
    const frame: Frame =
      end > options.maxLineBytes
        ? {
            kind: "oversize",
            line: 1,
            bytes: end,
            head: decodeHead(msg, 0, end, Math.min(DEFAULT_HEAD_BYTES, options.maxLineBytes)),
          }
        : { kind: "line", line: 1, text: msg.toString("utf8", 0, end) };
    const input = `udp:${formatAddress({ host: rinfo.address, port: rinfo.port })}`;
    const submission = collectFrames(context.collector, [frame], {
      input,
      receivedAt: new Date().toISOString(),
      maxLineBytes: options.maxLineBytes,
      original: context.original,
      hosts: context.hosts,
    });
    intake.submit(submission).catch((err: unknown) => {
      logger.error({ err, input }, "store write failed: this datagram is lost");
    });
  });
  socket.on("error", (err) => logger.error({ err, input: "udp" }, "UDP socket error"));

  await new Promise<void>((resolve, reject) => {
    socket.once("error", reject);
    socket.bind(options.listen.port, options.listen.host, () => {
      socket.off("error", reject);
      resolve();
    });
  });
  const port = socket.address().port;
  // Linux doubles the value set (room for its bookkeeping) and reports the double (socket(7)).
  const reported = socket.getRecvBufferSize();
  const granted = process.platform === "linux" ? reported / 2 : reported;
  const fields = {
    input: "udp",
    receive_buffer_asked: options.receiveBuffer,
    receive_buffer_granted: granted,
  };
  if (granted < options.receiveBuffer) {
    logger.warn(
      fields,
      "UDP receive buffer smaller than asked: the kernel caps it at net.core.rmem_max (raise it with sysctl)",
    );
  } else {
    logger.info(fields, "UDP receive buffer set");
  }

  const kernel = kernelDrops(socket, port);
  if (kernel === undefined) logger.debug({ input: "udp" }, "kernel drop counter not available (not Linux?)");
  const collect = (): void => {
    const added = kernel?.();
    if (added !== undefined && added > 0) metrics.udpDropped.inc(added);
  };
  metrics.udpDropSources.add(collect);

  const input: Input = {
    name: "udp",
    address: formatAddress({ host: options.listen.host, port }),
    port,
    close: () =>
      new Promise<void>((resolve) => {
        // The last count while the socket still exists.
        collect();
        metrics.udpDropSources.delete(collect);
        socket.close(() => resolve());
      }),
  };
  return input;
};

/**
 * The kernel's drop counter of this socket (Linux): its row in /proc/net/udp or /proc/net/udp6 is
 * the one with our local port and an inode among our own file descriptors. Returns a reader of
 * the drops since its last call, or `undefined` where there is no such file.
 */
function kernelDrops(socket: Socket, port: number): (() => number) | undefined {
  const tables = socket.address().family === "IPv6" ? ["/proc/net/udp6"] : ["/proc/net/udp"];
  const rows = (): string[][] => {
    const out: string[][] = [];
    for (const table of tables) {
      let text: string;
      try {
        text = readFileSync(table, "utf8");
      } catch {
        continue;
      }
      // sl local_address rem_address st tx:rx tr:tm retrnsmt uid timeout inode ref pointer drops
      for (const line of text.split("\n").slice(1)) {
        const cols = line.trim().split(/\s+/);
        if (cols.length >= 13) out.push(cols);
      }
    }
    return out;
  };
  const portHex = port.toString(16).toUpperCase().padStart(4, "0");
  const candidates = rows().filter((cols) => cols[1]!.endsWith(`:${portHex}`));
  if (candidates.length === 0) return undefined;
  let inode = candidates[0]![9]!;
  if (candidates.length > 1) {
    const own = ownSocketInodes();
    const mine = candidates.find((cols) => own.has(cols[9]!));
    if (mine === undefined) return undefined;
    inode = mine[9]!;
  }
  let last = Number(candidates.find((cols) => cols[9] === inode)![12]);
  return () => {
    const row = rows().find((cols) => cols[9] === inode);
    if (row === undefined) return 0;
    const now = Number(row[12]);
    const added = now - last;
    last = now;
    return added > 0 ? added : 0;
  };
}

function ownSocketInodes(): Set<string> {
  const inodes = new Set<string>();
  try {
    for (const fd of readdirSync("/proc/self/fd")) {
      try {
        const m = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/self/fd/${fd}`));
        if (m !== null) inodes.add(m[1]!);
      } catch {
        // Closed meanwhile.
      }
    }
  } catch {
    // No /proc.
  }
  return inodes;
}

/**
 * @module server/inputs/udp
 * The UDP input: one datagram, one message (RFC 5426 §3.1), a trailing newline trimmed. UDP has
 * no back-pressure: while the queue is full, datagrams are dropped, counted in
 * `tanium_ecs_udp_dropped_total` and logged (at most one warning a second). Use TCP or HTTP when
 * losing events under load is not acceptable.
 */
import { createSocket, type RemoteInfo } from "node:dgram";
import { isIPv6 } from "node:net";
import type { Frame } from "../../framing/index.ts";
import { decodeHead, DEFAULT_HEAD_BYTES } from "../../framing/lines.ts";
import { formatAddress } from "../config.ts";
import { prepare } from "../prepare.ts";
import type { Input, InputFactory, ListenOptions } from "./input.ts";

export type UdpInputOptions = ListenOptions;

export const udp: InputFactory<UdpInputOptions> = async (options, context) => {
  const { intake, metrics, logger } = context;
  const socket = createSocket({ type: isIPv6(options.listen.host) ? "udp6" : "udp4" });
  let dropped = 0;
  let lastWarning = 0;

  socket.on("message", (msg: Buffer, rinfo: RemoteInfo) => {
    metrics.received.inc({ input: "udp" });
    if (intake.full) {
      dropped++;
      metrics.udpDropped.inc();
      const now = Date.now();
      if (now - lastWarning >= 1000) {
        lastWarning = now;
        logger.warn(
          { input: "udp", dropped },
          "queue full: UDP datagrams dropped (UDP has no back-pressure)",
        );
      }
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
    const submission = prepare([frame], {
      input,
      receivedAt: new Date().toISOString(),
      maxLineBytes: options.maxLineBytes,
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
  const input: Input = {
    name: "udp",
    address: formatAddress({ host: options.listen.host, port }),
    port,
    close: () => new Promise<void>((resolve) => socket.close(() => resolve())),
  };
  return input;
};

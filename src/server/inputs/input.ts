/**
 * @module server/inputs/input
 * What every input is: a listener built by one async factory (`inputs/index.ts` is the registry)
 * that binds, feeds the shared intake queue, and closes on demand. Another transport (a message
 * broker) is one more factory and one more registry entry.
 */
import type { Logger } from "pino";
import type { HostDirectory } from "../../enrich/hosts.ts";
import type { Intake } from "../batcher.ts";
import type { ListenAddress } from "../config.ts";
import type { ServerMetrics } from "../metrics.ts";
import type { CollectorFactory } from "../../pipeline/step.ts";

/** A bound input. */
export interface Input {
  /** `http`, `tcp`, `udp`. */
  readonly name: string;
  /** Where it is bound (`127.0.0.1:9580`): the real port when 0 was asked for. */
  readonly address: string;
  readonly port: number;
  /** Stops accepting, hands what it holds to the intake, and releases the socket. */
  close(): Promise<void>;
}

/** What every input shares: the queue to feed, the metrics to count in, the log. */
export interface IntakeContext {
  readonly intake: Intake;
  /**
   * What frames become before the queue: documents (the step, `normalizingCollector`), or raw
   * events for the broker on a receiver (`broker/raw.ts`).
   */
  readonly collector: CollectorFactory;
  /** The host-enrichment stage every input's frames go through after `normalize`. */
  readonly hosts: HostDirectory;
  /** Keep the raw event at `event.original` (the `original` config key; `--no-original`). */
  readonly original: boolean;
  readonly metrics: ServerMetrics;
  readonly logger: Logger;
}

export interface TlsFiles {
  readonly cert: Buffer;
  readonly key: Buffer;
}

export interface ListenOptions {
  readonly listen: ListenAddress;
  /** Cap on one message (line, frame, array element, datagram), in bytes. */
  readonly maxLineBytes: number;
}

export type InputFactory<Options extends ListenOptions> = (
  options: Options,
  context: IntakeContext,
) => Promise<Input>;

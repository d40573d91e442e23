/**
 * @module delivery
 * The registry of sink kinds: each kind is its settings' schema (zod) and its factory. The code
 * that uses sinks never names a kind: it builds them from a list of `{ name, kind, settings }`
 * (`buildSinks`), so a new destination is one file and one entry here.
 */
import type { z } from "zod";
import type { EventStore } from "../store/store.ts";
import { createDuckdbSink, duckdbSettings, type StoreSinkContext } from "./duckdb.ts";
import { createNdjsonSink, ndjsonSettings, type NdjsonContext } from "./ndjson.ts";
import type { Sink } from "../sinks/index.ts";
import { createNullSink, nullSettings } from "./null.ts";
import { elasticsearchSettings, type ElasticsearchSettings } from "./elasticsearch/settings.ts";
import { lazyFactory } from "./lazy.ts";
import { remoteSettings, remoteSink, type RemoteContext } from "./remote.ts";
import { splunkHecSettings, type SplunkHecSettings } from "./splunk/settings.ts";
import type { EventSink, SinkContext } from "./sink.ts";
import type { SinkMetricFamilies } from "./metrics.ts";
import { NO_SINK_METRICS } from "./metrics.ts";
import type { Logger } from "pino";
import type { Registry } from "prom-client";

/** A built sink, with the capabilities some kinds add. */
export interface PipelineSink extends EventSink {
  /** The store a sink lends for `/api/*`, `query`, `replay`, `export` (the `duckdb` kind). */
  readonly queryable?: EventStore;
  /** NDJSON text written as is (the `ndjson` kind): the CLI's fast path. See `NdjsonSink`. */
  writeNdjson?(text: string | Uint8Array): Promise<void> | undefined;
  /** A sink with a bounded disk buffer (the remote kinds) says when it is full: intake pushes back. */
  readonly full?: boolean;
  /** Called each time `full` goes from true to false; returns the unsubscribe. */
  onRoom?(listener: () => void): () => void;
  /**
   * Adds the sink's own gauges to the process's `/metrics` (the NATS publisher: stream depth,
   * consumer lag, dead letters), once it has started.
   */
  registerMetrics?(registry: Registry): void;
}

/** What every factory is given: the sink context, and the server's local store when there is one. */
export type DeliveryContext = StoreSinkContext & NdjsonContext & RemoteContext;

export interface SinkKind<Settings> {
  readonly settings: z.ZodType<Settings>;
  readonly create: (name: string, settings: Settings, context: DeliveryContext) => PipelineSink;
}

function kind<Settings>(
  settings: z.ZodType<Settings>,
  create: (name: string, settings: Settings, context: DeliveryContext) => PipelineSink,
): SinkKind<Settings> & { build(name: string, raw: unknown, context: DeliveryContext): PipelineSink } {
  return {
    settings,
    create,
    build(name, raw, context) {
      const parsed = settings.safeParse(raw ?? {});
      if (!parsed.success) {
        const issues = parsed.error.issues
          .map((i) => (i.path.length > 0 ? `${i.path.join(".")}: ${i.message}` : i.message))
          .join("; ");
        throw new SinkConfigError(`sink ${name}: ${issues}`);
      }
      return create(name, parsed.data, context);
    },
  };
}

export const sinkKinds = {
  null: kind(nullSettings, createNullSink),
  ndjson: kind(ndjsonSettings, createNdjsonSink),
  duckdb: kind(duckdbSettings, createDuckdbSink),
  // The remote kinds' code (undici, the ECS field table) loads only when such a sink is made.
  elasticsearch: kind(
    remoteSettings(elasticsearchSettings),
    remoteSink(
      lazyFactory<ElasticsearchSettings>(
        "elasticsearch",
        async () => (await import("./elasticsearch/sink.ts")).elasticsearchSink,
      ),
    ),
  ),
  splunk_hec: kind(
    remoteSettings(splunkHecSettings),
    remoteSink(
      lazyFactory<SplunkHecSettings>(
        "splunk_hec",
        async () => (await import("./splunk/sink.ts")).splunkHecSink,
      ),
    ),
  ),
};

export type SinkKindName = keyof typeof sinkKinds;

/** One configured sink (the same shape as `ServerConfig.sinks`). */
export interface SinkSpec {
  readonly name: string;
  readonly kind: string;
  readonly settings: unknown;
}

/** A sink list that cannot be built: an unknown kind, a repeated name, settings its schema refuses. */
export class SinkConfigError extends Error {
  override name = "SinkConfigError";
}

function isKind(name: string): name is SinkKindName {
  return Object.prototype.hasOwnProperty.call(sinkKinds, name);
}

export interface BuildSinksOptions {
  readonly logger: Logger;
  /** Per-sink metric families; none: metrics that count nothing. */
  readonly metrics?: SinkMetricFamilies;
  /** The server's local store (dead letters, hosts), which a `duckdb` sink without `data` writes to. */
  readonly localStore?: EventStore;
  /** Wraps the stream of each `ndjson` sink (the CLI's progress bar). */
  readonly wrapNdjson?: (target: Sink) => Sink;
  /** Where the remote sinks' disk buffers live (`<data>/buffer`); none: they deliver straight. */
  readonly bufferDir?: string;
}

/** Builds each sink of the list through the registry (not started). Throws `SinkConfigError`. */
export function buildSinks(specs: readonly SinkSpec[], options: BuildSinksOptions): PipelineSink[] {
  const names = new Set<string>();
  return specs.map((spec) => {
    if (spec.name === "" || names.has(spec.name))
      throw new SinkConfigError(`sink names must be unique and not empty: ${JSON.stringify(spec.name)}`);
    names.add(spec.name);
    if (!isKind(spec.kind)) {
      throw new SinkConfigError(
        `sink ${spec.name}: unknown kind ${JSON.stringify(spec.kind)} (known: ${Object.keys(sinkKinds).join(", ")})`,
      );
    }
    const context: DeliveryContext = {
      logger: options.logger.child({ sink: spec.name }),
      metrics: options.metrics?.forSink(spec.name) ?? NO_SINK_METRICS,
      ...(options.localStore === undefined ? {} : { localStore: options.localStore }),
      ...(options.wrapNdjson === undefined ? {} : { wrapTarget: options.wrapNdjson }),
      ...(options.bufferDir === undefined ? {} : { bufferDir: options.bufferDir }),
    };
    return sinkKinds[spec.kind].build(spec.name, spec.settings, context);
  });
}

/** The first sink that lends a store (`queryable`), if any (started sinks only lend one). */
export function queryableStore(sinks: readonly PipelineSink[]): EventStore | undefined {
  for (const sink of sinks) if (sink.queryable !== undefined) return sink.queryable;
  return undefined;
}

export type { SinkContext };
export { NdjsonSink, type NdjsonSettings } from "./ndjson.ts";
export { NullSink } from "./null.ts";
export { StoreSink, storeSink } from "./duckdb.ts";

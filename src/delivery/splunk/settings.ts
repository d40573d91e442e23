/**
 * @module delivery/splunk/settings
 * The Splunk HTTP Event Collector sink's settings, snake case as in the configuration file, each
 * with its default.
 */
import { z } from "zod";

export const splunkHecSettings = z.object({
  /** The HEC base, e.g. `https://splunk:8088` (the sink adds `/services/collector/...`). */
  url: z.url({ protocol: /^https?$/ }),
  /** The HEC token, sent as `Authorization: Splunk <token>`; never logged. */
  token: z.string().min(1),
  /** The index; when absent, the token's default index. */
  index: z.string().min(1).optional(),
  source: z.string().min(1).default("tanium-ecs"),
  /**
   * A sourcetype of our own: the Splunk Add-on for Tanium owns the `tanium` sourcetypes and their
   * search-time extractions, which expect Tanium's own export format, not ECS documents.
   */
  sourcetype: z.string().min(1).default("tanium:ecs"),
  /**
   * How `host` is set: `event` takes the event's `host.name` (else `host.hostname`) and leaves
   * `host` out when it has neither (Splunk then uses the HEC input's host); `omit` always leaves it
   * out.
   */
  host_field: z.enum(["event", "omit"]).default("event"),
  /** Indexer acknowledgement: an event is delivered only once HEC says it is indexed. */
  ack: z.boolean().default(false),
  /** Seconds an acknowledgement may take before the request is sent again. */
  ack_timeout: z.number().positive().default(120),
  /** Ms between polls of `/services/collector/ack`. */
  ack_poll_interval: z.number().int().positive().default(500),
  max_batch_events: z.number().int().positive().default(500),
  /** Uncompressed bytes of one request's body (a single larger event is sent alone). */
  max_batch_bytes: z
    .number()
    .int()
    .positive()
    .default(1024 * 1024),
  /** Requests awaiting an answer at once, across every `deliver` of the sink. */
  max_in_flight: z.number().int().positive().default(2),
  /** Seconds to wait for an answer's headers, and between its body's chunks. */
  request_timeout: z.number().positive().default(30),
  /** Gzip request bodies (HEC accepts `Content-Encoding: gzip`). */
  compression: z.boolean().default(true),
  /** A PEM file of the CA(s) that signed the HEC's certificate. */
  ca_file: z.string().min(1).optional(),
  /** The longest wait, in seconds, between two attempts (a `Retry-After` included). */
  retry_max_wait: z.number().positive().default(60),
});

export type SplunkHecSettings = z.infer<typeof splunkHecSettings>;

/**
 * @module delivery/elasticsearch/settings
 * The Elasticsearch / OpenSearch sink's settings, in the config file's spelling (snake case), with
 * their defaults.
 */
import { z } from "zod";

/**
 * A data stream name part (dataset, namespace): Elastic's data stream naming scheme allows lower
 * case only, no `-` (it separates type, dataset and namespace) and none of `\ / * ? " < > | , # :`
 * or a space; a namespace is at most 100 bytes.
 */
const streamPart = /^[a-z0-9_.]+$/;

const auth = z.union([
  z.strictObject({ api_key: z.string().min(1) }),
  z.strictObject({ username: z.string().min(1), password: z.string() }),
  z.strictObject({ bearer: z.string().min(1) }),
]);

export const elasticsearchSettings = z.strictObject({
  /** The cluster's address (`https://es.example:9200`), a path prefix allowed (a proxy). */
  url: z
    .string()
    .refine((text) => URL.canParse(text) && /^https?:$/.test(new URL(text).protocol), {
      message: "url: an http:// or https:// address",
    })
    .refine(
      (text) => !URL.canParse(text) || (new URL(text).username === "" && new URL(text).password === ""),
      {
        // A secret in the address would be in every log line that names the cluster.
        message: "url: no credentials in the address; give them under auth",
      },
    ),
  auth: auth.optional(),
  /** A PEM file of the certificate authorities to trust for https (a private CA). */
  ca_file: z.string().min(1).optional(),
  /** A fixed index (or alias) to write into; when absent, data streams `logs-<dataset>-<namespace>`. */
  index: z
    .string()
    .min(1)
    .max(255)
    .regex(/^[^A-Z\\/*?"<>| ,#:]+$/, 'index: lower case, none of \\ / * ? " < > | , # : or a space')
    .refine((name) => !/^[-_+]/.test(name), "index: must not begin with -, _ or +")
    .optional(),
  namespace: z
    .string()
    .max(100)
    .regex(streamPart, "namespace: lower case letters, digits, _ and .")
    .default("default"),
  dataset_prefix: z
    .string()
    .min(1)
    .max(60)
    .regex(streamPart, "dataset_prefix: lower case letters, digits, _ and .")
    .refine((prefix) => prefix !== "tanium", "dataset_prefix: `tanium` is Elastic's Tanium integration's")
    .default("tanium_ecs"),
  install_template: z.boolean().default(false),
  /** An ILM policy (Elasticsearch) or ISM policy (OpenSearch) deleting indices `delete_after` old. */
  lifecycle: z
    .strictObject({
      policy: z.string().regex(/^[a-z0-9_.-]+$/, "lifecycle.policy: lower case letters, digits, _ . -"),
      delete_after: z.string().regex(/^\d+(d|h|m|s)$/, "lifecycle.delete_after: a duration such as 30d"),
    })
    .optional(),
  max_batch_events: z.int().positive().default(1000),
  /** NDJSON bytes of one request before gzip (default 5 MiB, far below the 100 MB `http.max_content_length`). */
  max_batch_bytes: z
    .int()
    .min(1024)
    .default(5 * 1024 * 1024),
  /** Bulk requests at once, for this sink. */
  max_in_flight: z.int().positive().max(64).default(2),
  /** Seconds before a request without an answer is abandoned and sent again. */
  request_timeout: z.number().positive().default(30),
  compression: z.boolean().default(true),
  /** Seconds: the cap on one wait between attempts (a `Retry-After` above it is cut). */
  retry_max_wait: z.number().positive().default(60),
});

/** The settings once validated, defaults filled in. */
export type ElasticsearchSettings = z.output<typeof elasticsearchSettings>;
/** The settings as written in a config file. */
export type ElasticsearchSettingsInput = z.input<typeof elasticsearchSettings>;

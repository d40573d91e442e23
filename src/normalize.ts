/**
 * @module normalize
 * The library's entry point: one raw line (or an already-parsed object) in, one ECS document or
 * one typed error out. No I/O and no clock here: the receive time comes in through the options.
 */
import { decodeLine } from "./decoding/envelope.ts";
import { ECS_VERSION, type EcsDocument } from "./ecs/document.ts";
import { mapToEcs } from "./ecs/index.ts";
import { enrichHost, type HostLookup } from "./enrich/hosts.ts";
import { ecsLogSyslog } from "./ecs/syslog.ts";
import { FieldTypeError, normalizeError, type NormalizeError } from "./errors.ts";
import { readTanium } from "./tanium/shapes.ts";
import { toIsoUtc } from "./tanium/values.ts";

/** Default cap on one line, in bytes (UTF-8): 1 MiB. */
export const DEFAULT_MAX_LINE_BYTES = 1024 * 1024;

const NO_SHAPE =
  "None of the keys that mark a shape was found (`event`: recorder; " +
  "`Alert Id` or `Event Name`: Threat Response alert; `table` and `action`: audit row; " +
  "`Change Type` or `File Path`: Integrity Monitor; `config_item` or `manifest` without `table`: " +
  "endpoint configuration; `ActionId` with `ActionName` or `Command`: action history; two of " +
  "`LastRegistration`, `ClientNetworkLocation`, `ProtocolVersion`…: client status; two of " +
  "`NatIpAddress`, `MacOrganization`, `LastDiscoveredAt`…: Discover; only spaced column headers " +
  "such as `Computer Name` with scalar values: saved-question report).";

export interface NormalizeOptions {
  /**
   * When the line was read (ISO-8601 string or Date). Stamps `event.ingested` and is the last
   * fallback for `@timestamp`. Defaults to the current time, taken once at this call.
   */
  receivedAt?: string | Date;
  /** Keep the raw Tanium JSON at `event.original` (default true). */
  original?: boolean;
  /** Cap on the raw line in bytes; longer lines fail with ERR_LINE_TOO_LONG (default 1 MiB). */
  maxBytes?: number;
  /**
   * What is known of hosts from earlier inventory rows (`HostDirectory.lookup`, or the caller's
   * own): fills the `host.os.*` a recorder event lacks and tags it `tanium_ecs_host_enriched`.
   * The lookup is the caller's state; `normalize` only reads it.
   */
  hosts?: HostLookup;
}

export type NormalizeResult =
  | {
      readonly ok: true;
      readonly doc: EcsDocument;
      /** Keys of Tanium `fields` that no mapper used (kept under `tanium.fields`). */
      readonly unmapped: readonly string[];
      /** Keys such as `__proto__` that were removed from the input. */
      readonly unsafeKeys: number;
    }
  | { readonly ok: false; readonly error: NormalizeError };

/**
 * Normalize one Tanium event to ECS.
 * @example
 * const r = normalize('{"event":"file_open","hostname":"h","host":"10.0.0.1","fields":{"full_path":"/etc/passwd"}}');
 * if (r.ok) console.log(r.doc.file?.name); // "passwd"
 */
export function normalize(
  raw: string | Readonly<Record<string, unknown>>,
  options: NormalizeOptions = {},
): NormalizeResult {
  const receivedAt = receiveTime(options.receivedAt);
  try {
    const decoded = decodeLine(raw, options.maxBytes ?? DEFAULT_MAX_LINE_BYTES);
    if (!decoded.ok) return decoded;
    const record = readTanium(decoded.value, decoded.source);
    if (record === undefined) return { ok: false, error: normalizeError("ERR_NO_EVENT", NO_SHAPE) };
    const result = mapToEcs(record, {
      receivedAt,
      text: decoded.text,
      original: options.original !== false,
      prefix: decoded.prefix,
    });
    if (decoded.unsafeKeys > 0) (result.doc.tags ??= []).push("tanium_ecs_unsafe_key_removed");
    // The transport's header, the same for every shape (ECS log.syslog.*).
    const syslog = decoded.syslog === undefined ? undefined : ecsLogSyslog(decoded.syslog);
    if (syslog !== undefined) result.doc.log = { ...result.doc.log, syslog };
    if (options.hosts !== undefined) enrichHost(result.doc, options.hosts);
    return { ok: true, doc: result.doc, unmapped: result.unmapped, unsafeKeys: decoded.unsafeKeys };
  } catch (err) {
    if (err instanceof FieldTypeError) {
      return { ok: false, error: normalizeError(err.code, err.message, err.field) };
    }
    // A defect must not cost the event nor stop a stream: it becomes a dead letter like bad input.
    return {
      ok: false,
      error: normalizeError("ERR_INTERNAL", err instanceof Error ? err.message : String(err)),
    };
  }
}

export interface DeadLetterContext {
  /** The original text of the line, as read. */
  original: string;
  /** The input's name: a file path, `-` for stdin, or a listener name. */
  input?: string;
  /** 1-based line number in that input. */
  line?: number;
  receivedAt?: string | Date;
}

/**
 * The ECS document for a line that could not be normalized: `event.kind: pipeline_error`, the
 * stable code at `error.code`, and the original text, so that nothing is lost.
 */
export function deadLetter(error: NormalizeError, context: DeadLetterContext): EcsDocument {
  const receivedAt = receiveTime(context.receivedAt);
  const doc: EcsDocument = {
    "@timestamp": receivedAt,
    ecs: { version: ECS_VERSION },
    event: {
      kind: "pipeline_error",
      module: "tanium",
      // Not `tanium.recorder`: a line that failed may have been any shape; searches for one shape's
      // documents must not meet another shape's failures.
      dataset: "tanium.dead_letter",
      ingested: receivedAt,
      original: context.original,
    },
    error: { code: error.code, message: error.message },
    message: error.message,
  };
  const input: { name?: string; line?: number } = {};
  if (context.input !== undefined) input.name = context.input;
  if (context.line !== undefined) input.line = context.line;
  if (context.input !== undefined || context.line !== undefined) doc.tanium = { input };
  if (context.input !== undefined && context.input !== "-") doc.log = { file: { path: context.input } };
  return doc;
}

let lastReceived: string | undefined;
let lastReceivedIso = "";

function receiveTime(value: string | Date | undefined): string {
  if (value === undefined) return new Date().toISOString();
  if (typeof value !== "string") return value.toISOString();
  // A stream passes the same receive time for a whole chunk: normalize it once.
  if (value !== lastReceived) {
    const iso = toIsoUtc(value);
    if (iso === undefined) return new Date().toISOString();
    lastReceivedIso = iso;
    lastReceived = value;
  }
  return lastReceivedIso;
}

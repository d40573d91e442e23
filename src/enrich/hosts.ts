/**
 * @module enrich/hosts
 * Host enrichment: what inventory rows say about a host's operating system (client status,
 * discover, saved-question reports, an alert's `system_info`) fills `host.os.*` on later recorder
 * events of the same host, which carry none (a recorder line names its host, never its OS).
 *
 * Two halves:
 * - `enrichHost(doc, lookup)`: pure, for the library. `normalize(raw, { hosts })` calls it, so a
 *   library user can bring their own directory of hosts.
 * - `HostDirectory`: the pipeline stage's memory (bounded, least recently used go first), which
 *   learns from every document the server normalizes and hands the store what changed, so the
 *   `hosts` table survives a restart.
 */
import type { EcsDocument, EcsOs } from "../ecs/document.ts";

/** The tag on a document whose `host.os.*` came from an earlier inventory row, not from itself. */
export const HOST_ENRICHED_TAG = "tanium_ecs_host_enriched";

/** What is known of a host's OS, by `host.id` or `host.name`. */
export type HostLookup = (host: { readonly id?: string; readonly name?: string }) => EcsOs | undefined;

/** One remembered host, as the store keeps it. */
export interface HostRow {
  /** `id:<host.id>` or `name:<host.name, lower case>`. */
  readonly key: string;
  readonly os: EcsOs;
  /** ISO-8601: the `@timestamp` of the document that said it last. */
  readonly seenAt: string;
}

/** The `host.os` fields that travel between documents (ECS 9.4 host.os.*). */
const OS_FIELDS = ["type", "platform", "name", "full", "version"] as const satisfies readonly (keyof EcsOs)[];

/**
 * Datasets whose documents speak for the host as a whole (inventory), so their `host.os` is what
 * a later recorder event of that host lacks. Recorder events teach nothing: the few that carry an
 * OS type (a Windows path) know less than an inventory row does.
 */
const INVENTORY_DATASETS: ReadonlySet<string> = new Set([
  "tanium.client_status",
  "tanium.discover",
  "tanium.report",
  "tanium.threat_response",
]);

/** Datasets that get `host.os` from the directory when they lack it. */
const ENRICHED_DATASETS: ReadonlySet<string> = new Set(["tanium.recorder"]);

function hostKeys(host: { readonly id?: string; readonly name?: string }): string[] {
  const keys: string[] = [];
  if (typeof host.id === "string" && host.id !== "") keys.push(`id:${host.id}`);
  if (typeof host.name === "string" && host.name !== "") keys.push(`name:${host.name.toLowerCase()}`);
  return keys;
}

function dataset(doc: EcsDocument): string | undefined {
  const value = doc.event?.dataset;
  return typeof value === "string" ? value : undefined;
}

/** The OS facts an inventory document states, with the keys it states them for; else undefined. */
export function hostFacts(doc: EcsDocument): { readonly keys: string[]; readonly os: EcsOs } | undefined {
  const set = dataset(doc);
  if (set === undefined || !INVENTORY_DATASETS.has(set)) return undefined;
  const host = doc.host;
  if (host === undefined || host.os === undefined) return undefined;
  const os: EcsOs = {};
  for (const field of OS_FIELDS) {
    const value = host.os[field];
    if (typeof value === "string" && value !== "") os[field] = value;
  }
  if (Object.keys(os).length === 0) return undefined;
  const keys = hostKeys(host);
  return keys.length === 0 ? undefined : { keys, os };
}

/**
 * Fills the `host.os.*` fields a recorder document lacks from `lookup`, never overwriting what the
 * event said itself, and tags it. Returns whether anything was filled.
 */
export function enrichHost(doc: EcsDocument, lookup: HostLookup): boolean {
  const set = dataset(doc);
  if (set === undefined || !ENRICHED_DATASETS.has(set)) return false;
  const host = doc.host;
  if (host === undefined) return false;
  const known = lookup(host);
  if (known === undefined) return false;
  const os: EcsOs = { ...host.os };
  let filled = false;
  for (const field of OS_FIELDS) {
    const value = known[field];
    if (os[field] === undefined && value !== undefined) {
      os[field] = value;
      filled = true;
    }
  }
  if (!filled) return false;
  host.os = os;
  (doc.tags ??= []).push(HOST_ENRICHED_TAG);
  return true;
}

export interface HostDirectoryOptions {
  /** Hosts remembered at most (each by id and by name); the least recently seen go first. */
  readonly maxHosts?: number;
}

/**
 * The server's memory of hosts. Memory is bounded whatever senders do: a flood of invented host
 * names pushes out the oldest entries, it never grows the map past `maxHosts` keys.
 */
export class HostDirectory {
  readonly #byKey = new Map<string, EcsOs>();
  readonly #changed = new Map<string, HostRow>();
  readonly #max: number;

  constructor(options: HostDirectoryOptions = {}) {
    this.#max = options.maxHosts ?? 100_000;
  }

  get size(): number {
    return this.#byKey.size;
  }

  /** What the store kept from earlier runs. */
  load(rows: Iterable<HostRow>): void {
    for (const row of rows) this.#remember(row.key, row.os);
  }

  /** The lookup `enrichHost` takes; an id match wins over a name match. */
  readonly lookup: HostLookup = (host) => {
    for (const key of hostKeys(host)) {
      const os = this.#byKey.get(key);
      if (os !== undefined) return os;
    }
    return undefined;
  };

  /**
   * The stage itself, after `normalize`: an inventory document teaches the directory (its facts
   * merged over what was known, field by field), a recorder document is enriched from it.
   * Returns whether the document was enriched.
   */
  observe(doc: EcsDocument): boolean {
    const facts = hostFacts(doc);
    if (facts === undefined) return enrichHost(doc, this.lookup);
    const seenAt = typeof doc["@timestamp"] === "string" ? doc["@timestamp"] : "";
    for (const key of facts.keys) {
      const before = this.#byKey.get(key);
      const os = { ...before, ...facts.os };
      if (before !== undefined && sameOs(before, os)) {
        this.#touch(key, before);
        continue;
      }
      this.#remember(key, os);
      this.#changed.set(key, { key, os, seenAt });
    }
    return false;
  }

  /** What changed since the last call, for the store to keep; emptied by the call. */
  takeChanges(): HostRow[] {
    const rows = [...this.#changed.values()];
    this.#changed.clear();
    return rows;
  }

  #touch(key: string, os: EcsOs): void {
    this.#byKey.delete(key);
    this.#byKey.set(key, os);
  }

  #remember(key: string, os: EcsOs): void {
    this.#touch(key, os);
    if (this.#byKey.size > this.#max) {
      // A Map iterates in insertion order, and `#touch` re-inserts: the first key is the stalest.
      const oldest = this.#byKey.keys().next().value;
      if (oldest !== undefined) this.#byKey.delete(oldest);
    }
  }
}

/** The OS fields of a value read back from the store (only strings of the known fields). */
export function osFrom(value: unknown): EcsOs | undefined {
  if (value === null || typeof value !== "object" || Array.isArray(value)) return undefined;
  const os: EcsOs = {};
  for (const field of OS_FIELDS) {
    const v: unknown = Object.prototype.hasOwnProperty.call(value, field)
      ? (value as Record<string, unknown>)[field]
      : undefined;
    if (typeof v === "string" && v !== "") os[field] = v;
  }
  return Object.keys(os).length === 0 ? undefined : os;
}

function sameOs(a: EcsOs, b: EcsOs): boolean {
  return OS_FIELDS.every((field) => a[field] === b[field]);
}

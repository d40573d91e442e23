/**
 * @module pipeline/stats
 * What one run counted, and the one summary line the CLI prints from it.
 */
import type { ErrorCode } from "../errors.ts";
import type { Batch } from "./step.ts";

/**
 * Cap on distinct unmapped key names tracked: junk input can carry a new key on every line, and
 * the counts must not grow with the input. Keys past the cap are counted together as "other".
 */
export const MAX_TRACKED_KEYS = 1000;
const SHOWN_KEYS = 20;
const OTHER_KEYS = "(other)";

export interface Stats {
  /** Frames read: every non-blank line, array element or oversize line. */
  eventsIn: number;
  documentsOut: number;
  deadLetters: Map<ErrorCode, number>;
  /** Unmapped Tanium `fields` keys, by name, counted per document. */
  unmapped: Map<string, number>;
  /** Keys such as `__proto__` removed from the input. */
  unsafeKeys: number;
  /** Documents (or dead letters) a sink refused for good. */
  rejected: number;
}

export function createStats(): Stats {
  return {
    eventsIn: 0,
    documentsOut: 0,
    deadLetters: new Map(),
    unmapped: new Map(),
    unsafeKeys: 0,
    rejected: 0,
  };
}

export function deadLetterCount(stats: Stats): number {
  let total = 0;
  for (const n of stats.deadLetters.values()) total += n;
  return total;
}

/** Counts a batch as it is written. */
export function addBatch(stats: Stats, batch: Batch): void {
  stats.eventsIn += batch.events;
  stats.documentsOut += batch.documents;
  stats.unsafeKeys += batch.unsafeKeys;
  for (const { error } of batch.dead)
    stats.deadLetters.set(error.code, (stats.deadLetters.get(error.code) ?? 0) + 1);
  for (const [key, n] of batch.unmapped) countKey(stats.unmapped, key, n);
}

/** Add `n` to a key's count, folding new keys into "other" once the map is full. */
export function countKey(counts: Map<string, number>, key: string, n = 1): void {
  const known = counts.get(key);
  if (known !== undefined) counts.set(key, known + n);
  else if (counts.size < MAX_TRACKED_KEYS) counts.set(key, n);
  else counts.set(OTHER_KEYS, (counts.get(OTHER_KEYS) ?? 0) + n);
}

/**
 * The run's one summary line, e.g.
 * `tanium-ecs: 12 events in, 11 documents out, 1 dead letters (ERR_JSON_SYNTAX 1); unmapped keys: foo 3`.
 */
export function formatSummary(stats: Stats): string {
  let line = `tanium-ecs: ${stats.eventsIn} events in, ${stats.documentsOut} documents out, ${deadLetterCount(stats)} dead letters`;
  if (stats.deadLetters.size > 0) line += ` (${listCounts(stats.deadLetters, stats.deadLetters.size)})`;
  if (stats.unmapped.size > 0) line += `; unmapped keys: ${listCounts(stats.unmapped, SHOWN_KEYS)}`;
  if (stats.unsafeKeys > 0) line += `; unsafe keys removed: ${stats.unsafeKeys}`;
  if (stats.rejected > 0) line += `; rejected by a sink: ${stats.rejected}`;
  return line;
}

/** Most frequent first; names that could break the single line are quoted as JSON. */
function listCounts(counts: ReadonlyMap<string, number>, shown: number): string {
  const sorted = [...counts].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  const parts = sorted.slice(0, shown).map(([name, n]) => `${quote(name)} ${n}`);
  if (sorted.length > shown) parts.push(`and ${sorted.length - shown} more`);
  return parts.join(", ");
}

function quote(name: string): string {
  return name === OTHER_KEYS || /^[\w.@$:/-]+$/.test(name) ? name : JSON.stringify(name);
}

/**
 * @module store/replay
 * `replay`: after an upgrade that maps a new shape, the dead letters are run through the current
 * `normalize` again, each with its original receive time (so `event.ingested` and the `@timestamp`
 * fallback are what they would have been). Those that now succeed move to `events`: the document
 * is inserted and the dead letter deleted in the same transaction, one batch at a time. Those that
 * still fail stay, with the current reason. Nothing here knows which Tanium shape a line is.
 */
import { normalize } from "../normalize.ts";
import { storedDoc, type DeadLetterRow, type ReplayResult, type StoredDoc } from "./store.ts";

export interface StoredDeadLetter extends DeadLetterRow {
  readonly id: string;
}

export interface ReplayFailure {
  readonly id: string;
  readonly code: string;
  readonly message: string;
}

/** What replay needs from a store: read dead letters in key order; commit one batch's outcome. */
export interface ReplayPort {
  readAfter(afterId: string, limit: number): Promise<readonly StoredDeadLetter[]>;
  /** In one transaction: insert `docs`, delete `resolvedIds`, update `failing`'s reasons. */
  commit(
    docs: readonly StoredDoc[],
    resolvedIds: readonly string[],
    failing: readonly ReplayFailure[],
  ): Promise<unknown>;
}

export interface ReplayOptions {
  /** Dead letters per transaction (1,000). */
  readonly batchSize?: number;
  /** Cap on one line, as for intake (normalize's default when absent). */
  readonly maxBytes?: number;
}

export interface ReplayedBatch {
  readonly docs: StoredDoc[];
  readonly resolvedIds: string[];
  /** Every letter still failing, with its current reason. */
  readonly failing: ReplayFailure[];
}

/** One batch through `normalize`: pure, no I/O. */
export function replayBatch(
  letters: readonly StoredDeadLetter[],
  options: ReplayOptions = {},
): ReplayedBatch {
  const out: ReplayedBatch = { docs: [], resolvedIds: [], failing: [] };
  for (const letter of letters) {
    const normalizeOptions: { receivedAt: string; maxBytes?: number } = { receivedAt: letter.receivedAt };
    if (options.maxBytes !== undefined) normalizeOptions.maxBytes = options.maxBytes;
    const result = normalize(letter.original, normalizeOptions);
    if (result.ok) {
      out.docs.push(storedDoc(result.doc));
      out.resolvedIds.push(letter.id);
    } else {
      out.failing.push({ id: letter.id, code: result.error.code, message: result.error.message });
    }
  }
  return out;
}

/** Walks every dead letter once, in key order, committing batch by batch. */
export async function replayDeadLetters(
  port: ReplayPort,
  options: ReplayOptions = {},
): Promise<ReplayResult> {
  const batchSize = options.batchSize ?? 1000;
  const failingByCode: Record<string, number> = Object.create(null) as Record<string, number>;
  let replayed = 0;
  let stillFailing = 0;
  let afterId = "";
  for (;;) {
    const letters = await port.readAfter(afterId, batchSize);
    const last = letters.at(-1);
    if (last === undefined) break;
    afterId = last.id;
    const batch = replayBatch(letters, options);
    const byId = new Map(letters.map((l) => [l.id, l]));
    // Only the reasons that changed are rewritten.
    const changed = batch.failing.filter((f) => {
      const before = byId.get(f.id);
      return before === undefined || before.code !== f.code || before.message !== f.message;
    });
    if (batch.docs.length > 0 || changed.length > 0)
      await port.commit(batch.docs, batch.resolvedIds, changed);
    replayed += batch.resolvedIds.length;
    stillFailing += batch.failing.length;
    for (const f of batch.failing) failingByCode[f.code] = (failingByCode[f.code] ?? 0) + 1;
    if (letters.length < batchSize) break;
  }
  return { replayed, stillFailing, failingByCode: { ...failingByCode } };
}

/** `replayed 3, still failing 2 (ERR_JSON_SYNTAX 1, ERR_NO_EVENT 1)`. */
export function formatReplay(result: ReplayResult): string {
  const codes = Object.entries(result.failingByCode)
    .sort(([a], [b]) => (a < b ? -1 : 1))
    .map(([code, n]) => `${code} ${n}`);
  return `replayed ${result.replayed}, still failing ${result.stillFailing}${codes.length > 0 ? ` (${codes.join(", ")})` : ""}`;
}

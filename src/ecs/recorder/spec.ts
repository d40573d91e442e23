/**
 * @module ecs/recorder/spec
 * What every row of a family's event table says, and the small helpers the family mappers share.
 */
import type { EcsDocument } from "../document.ts";
import type { RecorderEvent } from "../../tanium/recorder/record.ts";

/** ECS categorization and summary of one recorder event name. */
export interface EventSpec {
  /** ECS `event.category` (one value: the seed's categorization, kept for compatibility). */
  readonly category: string;
  /** ECS `event.type`. */
  readonly type: string;
  /** `message` template; `{dotted.path}` is replaced by that field of the document. */
  readonly message: string;
}

/** A family mapper fills the document from the record and returns the row it applied. */
export type FamilyMapper = (record: RecorderEvent, doc: EcsDocument) => EventSpec;

/** Removes undefined members; returns undefined when nothing is left, so no empty object is emitted. */
export function defined<T extends object>(value: T): T | undefined {
  let empty = true;
  for (const key of Object.keys(value)) {
    if ((value as Record<string, unknown>)[key] === undefined) delete (value as Record<string, unknown>)[key];
    else empty = false;
  }
  return empty ? undefined : value;
}

/** Looks up `name` in a table that has it by construction (the family was chosen from the name). */
export function rowOf<S>(table: Readonly<Record<string, S>>, name: string): S {
  const row = table[name];
  if (row === undefined) throw new Error(`No table row for ${name}: keys.ts and the family table disagree.`);
  return row;
}

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

/**
 * A copy without the undefined members, or undefined when none is left, so that no empty object
 * is emitted. Copies rather than deletes: `delete` turns a V8 object slow, and with it every
 * JSON.stringify of the document.
 */
export function defined<T extends object>(value: T): T | undefined {
  let out: Record<string, unknown> | undefined;
  for (const key in value) {
    const item = value[key];
    if (item !== undefined) (out ??= {})[key] = item;
  }
  return out as T | undefined;
}

/** Looks up `name` in a table that has it by construction (the family was chosen from the name). */
export function rowOf<S>(table: Readonly<Record<string, S>>, name: string): S {
  const row = table[name];
  if (row === undefined) throw new Error(`No table row for ${name}: keys.ts and the family table disagree.`);
  return row;
}

/** Whether an object has any own enumerable member (without allocating a key list). */
export function hasMembers(value: object): boolean {
  for (const key in value) if (Object.hasOwn(value, key)) return true;
  return false;
}

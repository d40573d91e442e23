/**
 * @module ecs/recorder/spec
 * What every row of a family's event table says, and the recorder-only helpers the family mappers share.
 */
import type { EcsCodeSignature, EcsDocument } from "../document.ts";
import type { RecorderEvent } from "../../tanium/recorder/record.ts";
import { defined } from "../common/objects.ts";

/** ECS categorization and summary of one recorder event name (or Windows event id). */
export interface EventSpec {
  /**
   * ECS `event.category`: one value for the recorder's own events (the seed's categorization,
   * kept for compatibility), several for some Windows events; none when nothing is known.
   */
  readonly category?: string | readonly string[];
  /** ECS `event.type`, likewise. */
  readonly type?: string | readonly string[];
  /** `message` template; `{dotted.path}` is replaced by that field of the document. */
  readonly message: string;
  /** ECS `event.action` when it is not the Tanium name (a Windows event's own action). */
  readonly action?: string;
  /** ECS `event.outcome`, only where the event itself says it (a failed logon). */
  readonly outcome?: "success" | "failure" | "unknown";
  /** ECS `event.code`, `event.provider`, `event.reason`: per event, not per row. */
  readonly code?: string;
  readonly provider?: string;
  readonly reason?: string;
}

/** A family mapper fills the document from the record and returns the row it applied. */
export type FamilyMapper = (record: RecorderEvent, doc: EcsDocument) => EventSpec;

/** Looks up `name` in a table that has it by construction (the family was chosen from the name). */
export function rowOf<S>(table: Readonly<Record<string, S>>, name: string): S {
  const row = table[name];
  if (row === undefined) throw new Error(`No table row for ${name}: keys.ts and the family table disagree.`);
  return row;
}

/** A one-value-or-list table entry as the ECS list. */
export function listOf(value: string | readonly string[]): string[] {
  return typeof value === "string" ? [value] : [...value];
}

/**
 * ECS `*.code_signature` from the recorder's `signed` flag and `signature` text (XSOAR-API): the
 * flag says a signature is present (`exists`), the text names the signer (`subject_name`). Nothing
 * says Tanium checked it, so `valid` and `trusted` are never claimed.
 */
export function codeSignature(
  signed: boolean | undefined,
  signature: string | undefined,
): EcsCodeSignature | undefined {
  return defined({ exists: signed, subject_name: signature });
}

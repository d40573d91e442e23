/**
 * @module delivery/event
 * A normalized event as every sink takes it: its key, its JSON text, and the few facts sinks
 * route by (read once, when the document is made, so that no sink parses the text again).
 */
import type { EcsDocument } from "../ecs/document.ts";
import { readPath } from "../store/columns.ts";
import { storedDoc, type StoredDoc } from "../store/store.ts";

export interface OutEvent extends StoredDoc {
  /** `event.dataset` (`tanium.recorder`…), "" when the document has none. */
  readonly dataset: string;
  /** `@timestamp` in ms since the epoch; undefined when absent or not a date. */
  readonly timestamp: number | undefined;
  /** `host.name`, else `host.hostname`; undefined when neither is a string. */
  readonly host: string | undefined;
}

function text(doc: EcsDocument, path: readonly string[]): string | undefined {
  const value = readPath(doc, path);
  return typeof value === "string" && value !== "" ? value : undefined;
}

export function outEvent(doc: EcsDocument): OutEvent {
  const stored = storedDoc(doc);
  const at = text(doc, ["@timestamp"]);
  const ms = at === undefined ? NaN : Date.parse(at);
  return {
    id: stored.id,
    json: stored.json,
    dataset: text(doc, ["event", "dataset"]) ?? "",
    timestamp: Number.isFinite(ms) ? ms : undefined,
    host: text(doc, ["host", "name"]) ?? text(doc, ["host", "hostname"]),
  };
}

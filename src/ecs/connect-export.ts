/**
 * @module ecs/connect-export
 * What the documents of the Connect exports beyond detections (action history, client status,
 * discover, endpoint configuration, saved-question reports) share: the `event.*` frame, the
 * vendor namespace with unmapped keys and the syslog prefix, `related.*`. Pure.
 */
import { hash } from "node:crypto";
import type { MapContext } from "./context.ts";
import { ECS_VERSION, type EcsDocument, type EventKind } from "./document.ts";
import { fillRelated } from "./recorder/related.ts";

export interface Frame {
  readonly timestamp: string | undefined;
  readonly kind: EventKind;
  readonly category: string;
  readonly type: string;
  readonly action?: string;
  readonly outcome?: "success" | "failure";
  readonly dataset: string;
  /** The row's own id; else the raw text is hashed, as for recorder events. */
  readonly id?: string;
  readonly start?: string;
  readonly end?: string;
  readonly created?: string;
}

/** The document's frame: `@timestamp` (else the receive time), `ecs`, `event.*`, `observer`. */
export function frameDocument(frame: Frame, context: MapContext, product: string): EcsDocument {
  const event: EcsDocument["event"] = { kind: frame.kind, category: [frame.category], type: [frame.type] };
  if (frame.action !== undefined) event.action = frame.action;
  if (frame.outcome !== undefined) event.outcome = frame.outcome;
  event.module = "tanium";
  event.dataset = frame.dataset;
  event.id = frame.id ?? textId(context.text);
  if (frame.created !== undefined) event.created = frame.created;
  if (frame.start !== undefined) event.start = frame.start;
  if (frame.end !== undefined) event.end = frame.end;
  event.ingested = context.receivedAt;
  if (context.original) event.original = context.text;
  return {
    "@timestamp": frame.timestamp ?? context.receivedAt,
    message: "",
    ecs: { version: ECS_VERSION },
    event,
    observer: { product, vendor: "Tanium" },
  };
}

/** The same raw row gives the same id anywhere (the recorder's and Integrity Monitor's rule). */
export function textId(text: string): string {
  return hash("sha256", text, "hex").slice(0, 32);
}

/**
 * `tanium.<name>` with the row's vendor values, `tanium.fields` with its unmapped keys,
 * `tanium.envelope.prefix`, then `related.*` from the document plus `extra` (users, IPs and
 * hosts that sit in fields fillRelated does not read).
 */
export function finishDocument(
  doc: EcsDocument,
  context: MapContext,
  name: string,
  values: Record<string, unknown>,
  unmapped: Record<string, unknown> | undefined,
  extra: { ip?: readonly (string | undefined)[]; user?: readonly (string | undefined)[] } = {},
): void {
  const namespace: NonNullable<EcsDocument["tanium"]> = { [name]: values };
  if (unmapped !== undefined) namespace.fields = unmapped;
  if (context.prefix !== undefined) namespace.envelope = { prefix: context.prefix };
  doc.tanium = namespace;
  fillRelated(doc);
  for (const [key, list] of [
    ["ip", extra.ip],
    ["user", extra.user],
  ] as const) {
    for (const value of list ?? []) {
      if (value === undefined || value === "") continue;
      const related = (doc.related ??= {});
      const values = (related[key] ??= []);
      if (!values.includes(value)) values.push(value);
    }
  }
}

/** A copy of `values` without its undefined members (the keys are the mappers' own names). */
export function present(values: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const key in values) if (values[key] !== undefined) out[key] = values[key];
  return out;
}

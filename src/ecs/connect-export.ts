/**
 * @module ecs/connect-export
 * What the documents of the Connect exports beyond detections (action history, client status,
 * discover, endpoint configuration, saved-question reports) share: the `event.*` frame, the
 * vendor namespace with unmapped keys and the syslog prefix, `related.*`. Pure.
 */
import { eventIdentity, eventTime } from "../tanium/identity.ts";
import type { OsDescription } from "../tanium/os.ts";
import type { TaniumRecord } from "../tanium/shapes.ts";
import { defined } from "./common/objects.ts";
import { fillRelated } from "./common/related.ts";
import type { MapContext } from "./context.ts";
import { ECS_VERSION, type EcsDocument, type EcsOs, type EventKind } from "./document.ts";

export interface Frame {
  readonly kind: EventKind;
  readonly category: string;
  readonly type: string;
  readonly action?: string;
  readonly outcome?: "success" | "failure";
  readonly dataset: string;
  readonly start?: string;
  readonly end?: string;
  readonly created?: string;
}

/**
 * The document's frame: `@timestamp` (the record's time, else the receive time), `ecs`,
 * `event.*` with the record's deterministic id, `observer`.
 */
export function frameDocument(
  record: TaniumRecord,
  frame: Frame,
  context: MapContext,
  product: string,
): EcsDocument {
  const event: EcsDocument["event"] = { kind: frame.kind, category: [frame.category], type: [frame.type] };
  if (frame.action !== undefined) event.action = frame.action;
  if (frame.outcome !== undefined) event.outcome = frame.outcome;
  event.module = "tanium";
  event.dataset = frame.dataset;
  event.id = eventIdentity(record, context.text);
  if (frame.created !== undefined) event.created = frame.created;
  if (frame.start !== undefined) event.start = frame.start;
  if (frame.end !== undefined) event.end = frame.end;
  event.ingested = context.receivedAt;
  if (context.original) event.original = context.text;
  return {
    "@timestamp": eventTime(record, context.prefix) ?? context.receivedAt,
    message: "",
    ecs: { version: ECS_VERSION },
    event,
    observer: { product, vendor: "Tanium" },
  };
}

/** ECS `host.os.*` from what Tanium's OS text says; the family is `host.os.type`. */
export function ecsOs(os: OsDescription | undefined): EcsOs | undefined {
  if (os === undefined) return undefined;
  return defined({
    type: os.family,
    platform: os.platform,
    full: os.full,
    name: os.name,
    version: os.version,
  });
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

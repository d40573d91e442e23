/**
 * @module broker/message
 * What crosses the broker: a raw frame as the receiver framed it (a line, or the framing error
 * the worker's step turns into its dead letter: the same code as on one machine), with its receive
 * time and input name in headers, and its text as the body, byte for byte. `Nats-Msg-Id` is a
 * stable hash of the text (the store's `textKey`), so a sender's resend, or a receiver's own retry
 * after a leader election, is stored once within the stream's duplicate window. Dead letters
 * travel as JSON rows on `<dead_letter_subject>.<code>`, keyed the same way.
 */
import { headers as natsHeaders, type MsgHdrs } from "@nats-io/transport-node";
import sjson from "secure-json-parse";
import type { Frame } from "../framing/index.ts";
import type { OutEvent } from "../delivery/event.ts";
import { textKey, type DeadLetterRow } from "../store/store.ts";

export const HEADER = {
  msgId: "Nats-Msg-Id",
  receivedAt: "Tanium-Ecs-Received-At",
  input: "Tanium-Ecs-Input",
  /** Absent for a line; `oversize` or `error` for what the framer could not make a line of. */
  frame: "Tanium-Ecs-Frame",
  /** An oversize frame's whole length (its body is the head the framer kept). */
  bytes: "Tanium-Ecs-Frame-Bytes",
  /** A framing error's code and message. */
  code: "Tanium-Ecs-Frame-Code",
  message: "Tanium-Ecs-Frame-Message",
  /** A dead letter's code (also the last subject token). */
  deadCode: "Tanium-Ecs-Code",
} as const;

/** A raw frame on its way to the stream: an `OutEvent` whose `id` is its `Nats-Msg-Id`, whose `json` is its text. */
export interface RawEvent extends OutEvent {
  readonly raw: {
    /** The last subject token: the input's kind (`http`, `tcp`, `udp`). */
    readonly inputKind: string;
    readonly input: string;
    readonly receivedAt: string;
    readonly frame: "line" | "oversize" | "error";
    readonly bytes?: number;
    readonly code?: string;
    readonly message?: string;
  };
}

export function isRawEvent(event: OutEvent): event is RawEvent {
  return (event as Partial<RawEvent>).raw !== undefined;
}

/** Header values are one line: a message that had a CR or LF keeps its words. */
function headerValue(text: string): string {
  return text.replace(/[\r\n]+/g, " ");
}

/** `tcp:127.0.0.1:5000` → `tcp`; a subject token has no dots or wildcards. */
function inputKind(input: string): string {
  const kind = input.split(":", 1)[0] ?? "";
  return /^[a-z0-9_-]+$/.test(kind) ? kind : "other";
}

/** A frame as the raw event the receiver publishes. */
export function rawEvent(frame: Frame, input: string, receivedAt: string): RawEvent {
  const kind = inputKind(input);
  const ms = Date.parse(receivedAt);
  const base = { dataset: "", timestamp: Number.isFinite(ms) ? ms : undefined, host: undefined };
  if (frame.kind === "line") {
    return {
      ...base,
      id: textKey(frame.text),
      json: frame.text,
      raw: { inputKind: kind, input, receivedAt, frame: "line" },
    };
  }
  if (frame.kind === "oversize") {
    return {
      ...base,
      id: textKey(`oversize:${frame.bytes}:${frame.head}`),
      json: frame.head,
      raw: { inputKind: kind, input, receivedAt, frame: "oversize", bytes: frame.bytes },
    };
  }
  const code = frame.code ?? "ERR_JSON_SYNTAX";
  return {
    ...base,
    id: textKey(`error:${code}:${frame.text}`),
    json: frame.text,
    raw: { inputKind: kind, input, receivedAt, frame: "error", code, message: frame.message },
  };
}

/** The subject, headers and body of a raw event. */
export function encodeRaw(
  event: RawEvent,
  subjectPrefix: string,
): { subject: string; headers: MsgHdrs; data: string } {
  const h = natsHeaders();
  h.set(HEADER.receivedAt, event.raw.receivedAt);
  h.set(HEADER.input, headerValue(event.raw.input));
  if (event.raw.frame !== "line") {
    h.set(HEADER.frame, event.raw.frame);
    if (event.raw.bytes !== undefined) h.set(HEADER.bytes, String(event.raw.bytes));
    if (event.raw.code !== undefined) h.set(HEADER.code, event.raw.code);
    if (event.raw.message !== undefined) h.set(HEADER.message, headerValue(event.raw.message));
  }
  return { subject: `${subjectPrefix}.${event.raw.inputKind}`, headers: h, data: event.json };
}

/** A message of the raw stream as the worker's step takes it. */
export interface DecodedRaw {
  readonly frame: Frame;
  readonly input: string;
  readonly receivedAt: string;
}

/**
 * A raw message back into its frame. Whatever the stream holds is trusted no more than a sender:
 * missing or bad headers fall back (`input` from the subject, receive time `fallbackTime`), an
 * unknown frame kind is a framing error, so every message becomes a document or a dead letter.
 */
export function decodeRaw(
  subject: string,
  hdrs: MsgHdrs | undefined,
  text: string,
  fallbackTime: string,
): DecodedRaw {
  const get = (name: string): string | undefined => {
    const value = hdrs?.get(name);
    return value === undefined || value === "" ? undefined : value;
  };
  const input = get(HEADER.input) ?? subject.slice(subject.lastIndexOf(".") + 1);
  const at = get(HEADER.receivedAt);
  const receivedAt = at !== undefined && Number.isFinite(Date.parse(at)) ? at : fallbackTime;
  const kind = get(HEADER.frame);
  if (kind === undefined) return { frame: { kind: "line", text, line: 1 }, input, receivedAt };
  if (kind === "oversize") {
    const bytes = Number(get(HEADER.bytes));
    return {
      frame: {
        kind: "oversize",
        line: 1,
        bytes: Number.isSafeInteger(bytes) ? bytes : Buffer.byteLength(text),
        head: text,
      },
      input,
      receivedAt,
    };
  }
  const code = get(HEADER.code);
  return {
    frame: {
      kind: "error",
      line: 1,
      text,
      message:
        kind === "error"
          ? (get(HEADER.message) ?? "framing error")
          : `unknown frame kind ${JSON.stringify(kind)}`,
      ...(code === "ERR_FRAMING" || kind !== "error" ? { code: "ERR_FRAMING" as const } : {}),
    },
    input,
    receivedAt,
  };
}

/** A dead letter's subject, id and body. The id is the same for the same letter, whoever publishes it. */
export function encodeDeadLetter(
  row: DeadLetterRow,
  subjectPrefix: string,
): { subject: string; msgId: string; headers: MsgHdrs; data: string } {
  const code = /^[A-Z0-9_]+$/.test(row.code) ? row.code : "ERR_UNKNOWN";
  const h = natsHeaders();
  h.set(HEADER.deadCode, code);
  h.set(HEADER.input, headerValue(row.input));
  h.set(HEADER.receivedAt, row.receivedAt);
  const data = JSON.stringify({
    code: row.code,
    message: row.message,
    original: row.original,
    input: row.input,
    received_at: row.receivedAt,
    count: row.count ?? 1,
  });
  return { subject: `${subjectPrefix}.${code}`, msgId: textKey(`${code}:${row.original}`), headers: h, data };
}

/** A dead-letter message's body back into a row; undefined when it is not one of ours. */
export function decodeDeadLetter(text: string): DeadLetterRow | undefined {
  let value: unknown;
  try {
    value = sjson.parse(text, null, { protoAction: "remove", constructorAction: "remove" });
  } catch {
    return undefined;
  }
  if (value === null || typeof value !== "object") return undefined;
  const v = value as Record<string, unknown>;
  const str = (key: string): string | undefined =>
    typeof v[key] === "string" ? (v[key] as string) : undefined;
  const code = str("code");
  const original = str("original");
  if (code === undefined || original === undefined) return undefined;
  const count = typeof v.count === "number" && Number.isSafeInteger(v.count) && v.count > 0 ? v.count : 1;
  return {
    code,
    message: str("message") ?? "",
    original,
    input: str("input") ?? "",
    receivedAt: str("received_at") ?? "",
    ...(count > 1 ? { count } : {}),
  };
}

/**
 * @module broker/replay
 * `replay --nats`: the dead-letter stream read once, from its first letter to the last one there
 * at the start (letters that arrive meanwhile, a replayed event failing again among them, wait
 * for the next replay). A letter whose original now normalizes (after an upgrade that maps a new
 * shape, a sink's mapping fixed, a destination back after a long outage) is published raw to the
 * raw stream, for the workers to normalize and deliver, and then deleted from the dead-letter
 * stream; the others stay. The republished event gets the id `replay:<letter's sequence>:<key>`:
 * the original's id may still be in the raw stream's duplicate window, where the same id would be
 * taken for a resend and dropped, while a replay retried after a failure keeps its id and is
 * stored once. Its receive time and input are the original's (as `replay` of the DuckDB store).
 */
import type { JsMsg } from "@nats-io/jetstream";
import { normalize } from "../normalize.ts";
import type { ReplayResult } from "../store/store.ts";
import type { Broker } from "./connection.ts";
import { decodeDeadLetter, encodeRaw, HEADER, rawEvent } from "./message.ts";
import { publishRetrying } from "./publish.ts";
import { deadLetterStreamSpec, ensureStream, rawStreamSpec } from "./topology.ts";

export interface BrokerReplayOptions {
  /** Cap on one line, as for intake (normalize's default when absent). */
  readonly maxBytes?: number;
  /** Letters republished at once (default 64). */
  readonly concurrency?: number;
}

/** How long the read waits for the next letter before it takes the stream as read. */
const IDLE_MS = 5000;

/** The replay id of the letter at `seq` whose event has the key `key`. */
export function replayId(seq: number, key: string): string {
  return `replay:${seq}:${key}`;
}

export async function replayDeadLetterStream(
  broker: Broker,
  options: BrokerReplayOptions = {},
): Promise<ReplayResult> {
  const { js, jsm, settings } = broker;
  await ensureStream(jsm, rawStreamSpec(settings));
  const info = await ensureStream(jsm, deadLetterStreamSpec(settings));
  const failingByCode: Record<string, number> = Object.create(null) as Record<string, number>;
  let replayed = 0;
  let stillFailing = 0;
  const lastSeq = info.state.last_seq;
  if (info.state.messages === 0) return { replayed, stillFailing, failingByCode: {} };

  const fail = (code: string): void => {
    stillFailing++;
    failingByCode[code] = (failingByCode[code] ?? 0) + 1;
  };
  const replayOne = async (msg: JsMsg): Promise<void> => {
    const letter = decodeDeadLetter(msg.string());
    if (letter === undefined) {
      // Not one of ours: left where it is, counted under the code its subject names.
      fail(msg.headers?.get(HEADER.deadCode) || msg.subject.slice(msg.subject.lastIndexOf(".") + 1));
      return;
    }
    const receivedAt = Number.isFinite(Date.parse(letter.receivedAt))
      ? letter.receivedAt
      : msg.time.toISOString();
    const result = normalize(letter.original, {
      receivedAt,
      ...(options.maxBytes === undefined ? {} : { maxBytes: options.maxBytes }),
    });
    if (!result.ok) {
      fail(result.error.code);
      return;
    }
    const event = rawEvent(
      { kind: "line", text: letter.original, line: 1 },
      letter.input || "replay",
      receivedAt,
    );
    const raw = encodeRaw(event, settings.subject);
    await publishRetrying(js, raw.subject, raw.data, {
      msgID: replayId(msg.seq, event.id),
      headers: raw.headers,
      deadline: Date.now() + settings.publish_timeout,
    });
    // Only once the raw stream has it: a replay cut short leaves the letter, and the next one
    // republishes it under the same id.
    await jsm.streams.deleteMessage(settings.dead_letter_stream, msg.seq, false);
    replayed++;
  };

  // An ordered consumer: read-only, no state on the server beyond this run, gone when it ends.
  const consumer = await js.consumers.get(settings.dead_letter_stream);
  const messages = await consumer.consume({ max_messages: 256 });
  const limit = Math.max(1, options.concurrency ?? 64);
  const running = new Set<Promise<void>>();
  let failure: unknown;
  // Letters deleted between the look at the stream and the read (another replay) would leave the
  // read waiting for nothing: it ends once none came for a while.
  let idle: NodeJS.Timeout | undefined;
  const rearm = (): void => {
    clearTimeout(idle);
    idle = setTimeout(() => messages.stop(), IDLE_MS);
  };
  rearm();
  try {
    for await (const msg of messages) {
      rearm();
      if (msg.seq > lastSeq) break;
      const task = replayOne(msg).catch((err: unknown) => {
        failure ??= err;
      });
      running.add(task);
      void task.finally(() => running.delete(task));
      if (running.size >= limit) await Promise.race(running);
      if (failure !== undefined || msg.seq >= lastSeq || msg.info.pending === 0) break;
    }
  } finally {
    clearTimeout(idle);
    await Promise.allSettled([...running]);
    await messages.close();
  }
  if (failure !== undefined) throw failure;
  return { replayed, stillFailing, failingByCode: { ...failingByCode } };
}

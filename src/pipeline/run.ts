/**
 * @module pipeline/run
 * One run: every input, in turn, through framing and the per-frame step (`step.ts`) into the
 * output sink and the dead-letter sink, in input order. A sink with the NDJSON fast path
 * (`writeNdjson`: the `ndjson` kind) takes the batch's text as is; any other is given the events
 * (`deliver`) and its settlements are counted: a rejected event is counted as a dead letter. Nothing is dropped (documents + dead letters = frames) and memory stays
 * bounded: inputs are streamed, sinks push back, and only a few pieces are ever in flight.
 */
import { AutoFramer, type Frame } from "../framing/index.ts";
import { normalizeError } from "../errors.ts";
import { deadLetter, DEFAULT_MAX_LINE_BYTES } from "../normalize.ts";
import type { PipelineSink } from "../delivery/index.ts";
import { outEvent, type OutEvent } from "../delivery/event.ts";
import { SINK_REJECTED } from "../delivery/sink.ts";
import type { EcsDocument } from "../ecs/document.ts";
import type { Source } from "../sources/index.ts";
import { LineChunker, type Piece } from "./chunks.ts";
import { IoError } from "./io-error.ts";
import { processFrames, renderDeadLetters, type Batch, type ProcessSettings } from "./step.ts";
import { addBatch, createStats, type Stats } from "./stats.ts";
import { WorkerPool, type TaskRunner } from "./workers.ts";

export interface RunOptions {
  inputs: readonly Source[];
  /** Where documents go. */
  output: PipelineSink;
  /** Where dead letters go, as ECS documents. */
  deadLetters: PipelineSink;
  /** Keep the raw event at `event.original` (default true). */
  original?: boolean;
  /** Cap on one line or array element, in bytes (default 1 MiB). */
  maxBytes?: number;
  /** Worker threads; 0 (the default) works in this thread. */
  workers?: number;
  /**
   * Runs the worker path's tasks on this runner instead of a pool of `workers` threads (tests
   * use `inlineRunner` to check that path's cutting and numbering without threads).
   */
  runner?: (settings: ProcessSettings) => TaskRunner;
  /** Bytes gathered into one piece for a worker (default 1 MiB). */
  chunkBytes?: number;
  /** Pieces in flight per worker (default 2): enough to keep each busy while results are written. */
  inFlightPerWorker?: number;
  /** Called with each chunk's size as it is read (the progress bar). */
  onRead?: (bytes: number) => void;
  /** The receive clock, read once per chunk read (default: the current time, ISO-8601). */
  now?: () => string;
}

const DEFAULT_PIECE_BYTES = 1024 * 1024;
/** The probe framer reads a chunk in slices this big, stopping at the first one that decides. */
const PROBE_SLICE = 4096;

interface Context {
  settings: ProcessSettings;
  now: () => string;
  onRead: (bytes: number) => void;
  emit: (batch: Batch, input: string, lineBase: number) => Promise<void>;
}

export async function runPipeline(options: RunOptions): Promise<Stats> {
  const stats = createStats();
  const { output, deadLetters } = options;
  const ctx: Context = {
    settings: { original: options.original ?? true, maxBytes: options.maxBytes ?? DEFAULT_MAX_LINE_BYTES },
    now: options.now ?? (() => new Date().toISOString()),
    onRead: options.onRead ?? (() => {}),
    async emit(batch, input, lineBase) {
      addBatch(stats, batch);
      if (batch.ndjson.length > 0) {
        const refused = await write(output, batch.ndjson);
        stats.rejected += refused.length;
        // A document the sink refused for good is a dead letter with the sink's reason, never gone.
        if (refused.length > 0) await write(deadLetters, renderRefused(refused, output.name, input));
      }
      if (batch.dead.length > 0) {
        const refused = await write(deadLetters, renderDeadLetters(batch.dead, input, lineBase));
        if (refused.length > 0)
          throw new IoError(`the dead-letter output refused ${refused.length} dead letters`);
      }
    },
  };
  const workers = options.workers ?? 0;
  const pool =
    options.runner?.(ctx.settings) ?? (workers > 0 ? new WorkerPool(workers, ctx.settings) : undefined);
  try {
    for (const source of options.inputs) {
      try {
        if (pool === undefined) await runInThread(source, ctx);
        else {
          const chunkBytes = options.chunkBytes ?? DEFAULT_PIECE_BYTES;
          await runOnWorkers(source, pool, ctx, chunkBytes, pool.size * (options.inFlightPerWorker ?? 2));
        }
      } catch (err) {
        if (err instanceof IoError) throw err;
        const message = err instanceof Error ? err.message : String(err);
        throw new Error(`while normalizing ${source.name === "-" ? "stdin" : source.name}: ${message}`, {
          cause: err,
        });
      }
    }
  } finally {
    await pool?.close();
  }
  return stats;
}

/**
 * NDJSON text into a sink: as is through its fast path (a promise only when it pushes back), else
 * as events, one per line; returns how many the sink rejected.
 */
async function write(sink: PipelineSink, ndjson: string | Uint8Array): Promise<Refused[]> {
  if (sink.writeNdjson !== undefined) {
    await sink.writeNdjson(ndjson);
    return [];
  }
  const text = typeof ndjson === "string" ? ndjson : Buffer.from(ndjson).toString("utf8");
  const events = text
    .split("\n")
    .filter((line) => line !== "")
    .map((line) => outEvent(JSON.parse(line) as EcsDocument));
  const settlements = await sink.deliver(events);
  const refused: Refused[] = [];
  settlements.forEach((s, i) => {
    if (s.status === "rejected") refused.push({ event: events[i]!, reason: s.reason });
  });
  return refused;
}

interface Refused {
  readonly event: OutEvent;
  readonly reason: string;
}

/** Refused documents as ECS dead letters (`ERR_SINK_REJECTED`, the sink's reason, the document as the original). */
function renderRefused(refused: readonly Refused[], sink: string, input: string): string {
  const receivedAt = new Date().toISOString();
  let text = "";
  for (const { event, reason } of refused) {
    const error = normalizeError(SINK_REJECTED, `sink ${sink}: ${reason}`);
    text += JSON.stringify(deadLetter(error, { original: event.json, input, receivedAt })) + "\n";
  }
  return text;
}

/** Frames and normalizes in this thread, one chunk at a time. */
async function runInThread(source: Source, ctx: Context): Promise<void> {
  const framer = new AutoFramer({ maxBytes: ctx.settings.maxBytes });
  const frames: Frame[] = [];
  let receivedAt = "";
  for await (const chunk of source.open()) {
    receivedAt = ctx.now();
    ctx.onRead(chunk.byteLength);
    framer.push(chunk, frames);
    if (frames.length === 0) continue;
    // Frames carry absolute line numbers here: the framer sees the whole input.
    await ctx.emit(processFrames(frames, receivedAt, ctx.settings), source.name, 0);
    frames.length = 0;
  }
  framer.end(frames);
  if (frames.length > 0)
    await ctx.emit(processFrames(frames, receivedAt || ctx.now(), ctx.settings), source.name, 0);
}

/**
 * Hands the work to the pool and writes the batches back strictly in order. Newline-delimited
 * input goes out as raw bytes cut at newlines (this thread only cuts and copies); a JSON array,
 * or input still undecided after a long blank prefix, is framed here and its frames go out.
 */
async function runOnWorkers(
  source: Source,
  pool: TaskRunner,
  ctx: Context,
  chunkBytes: number,
  inFlight: number,
): Promise<void> {
  const { settings } = ctx;
  const queue: Promise<Batch>[] = [];
  let lineBase = 0;

  const writeNext = async (): Promise<void> => {
    const batch = await queue.shift();
    if (batch === undefined) return;
    await ctx.emit(batch, source.name, lineBase);
    lineBase += batch.lines;
  };
  const enqueue = async (result: Promise<Batch>): Promise<void> => {
    // Awaited in order below; a failure is also seen there, so a later one is not unhandled.
    result.catch(() => {});
    queue.push(result);
    while (queue.length > inFlight) await writeNext();
  };

  let mode: "probe" | "bytes" | "frames" = "probe";
  const probe = new AutoFramer({ maxBytes: settings.maxBytes });
  let held: Uint8Array[] = [];
  let heldBytes = 0;
  const chunker = new LineChunker({ chunkBytes, maxBytes: settings.maxBytes });
  let framer: AutoFramer | undefined;
  const pieces: Piece[] = [];
  const frames: Frame[] = [];
  let receivedAt = "";

  const sendPieces = async (): Promise<void> => {
    for (const piece of pieces) {
      if (piece.kind === "lines") {
        const { bytes, continued } = piece;
        await enqueue(pool.run({ kind: "lines", bytes, continued, receivedAt }));
      } else {
        // An over-long line: a dead letter in all likelihood, cheap to make here.
        const batch = processFrames(piece.frames, receivedAt, settings);
        batch.lines = piece.lines;
        await enqueue(Promise.resolve(batch));
      }
    }
    pieces.length = 0;
  };
  const sendFrames = async (): Promise<void> => {
    if (frames.length === 0) return;
    await enqueue(pool.run({ kind: "frames", frames: frames.splice(0), receivedAt }));
  };
  const feed = async (chunk: Uint8Array): Promise<void> => {
    if (framer === undefined) {
      chunker.push(chunk, pieces);
      await sendPieces();
    } else {
      framer.push(chunk, frames);
      await sendFrames();
    }
  };
  const decide = async (lines: boolean): Promise<void> => {
    mode = lines ? "bytes" : "frames";
    if (!lines) framer = new AutoFramer({ maxBytes: settings.maxBytes });
    const replay = held;
    held = [];
    for (const chunk of replay) await feed(chunk);
  };

  for await (const chunk of source.open()) {
    receivedAt = ctx.now();
    ctx.onRead(chunk.byteLength);
    if (mode !== "probe") {
      await feed(chunk);
      continue;
    }
    // The same detection as the in-thread path, by the same framer, fed in small slices so
    // that it stops framing as soon as it knows.
    held.push(chunk);
    heldBytes += chunk.byteLength;
    const scratch: Frame[] = [];
    for (let at = 0; at < chunk.byteLength && probe.mode === undefined; at += PROBE_SLICE) {
      probe.push(chunk.subarray(at, at + PROBE_SLICE), scratch);
      scratch.length = 0;
    }
    if (probe.mode !== undefined) await decide(probe.mode === "lines");
    else if (heldBytes > chunkBytes) await decide(false);
  }
  if (receivedAt === "") receivedAt = ctx.now();
  if (mode === "probe") await decide(false);
  if (framer === undefined) {
    chunker.end(pieces);
    await sendPieces();
  } else {
    framer.end(frames);
    await sendFrames();
  }
  while (queue.length > 0) await writeNext();
}

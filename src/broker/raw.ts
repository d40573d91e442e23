/**
 * @module broker/raw
 * The receiver's collector (`serve --publish`): frames become raw events for the broker, not
 * documents; the workers run the step. A text repeated in one submission is the same raw event
 * again (the publisher sends it once and settles every copy alike), so a flood of one line costs
 * one publish per slice.
 */
import type { Frame } from "../framing/index.ts";
import type { FrameCollector, PrepareOptions, Submission } from "../pipeline/step.ts";
import { rawEvent, type RawEvent } from "./message.ts";

export class RawCollector implements FrameCollector {
  readonly #options: PrepareOptions;
  #docs: RawEvent[] = [];
  #seen = new Map<string, RawEvent>();
  #bytes = 0;
  frames = 0;
  readonly normalized = 0;

  constructor(options: PrepareOptions) {
    this.#options = options;
  }

  get bytes(): number {
    return this.#bytes;
  }

  add(frame: Frame): void {
    this.frames++;
    const event = rawEvent(frame, this.#options.input, this.#options.receivedAt);
    const before = this.#seen.get(event.id);
    if (before !== undefined) {
      this.#docs.push(before);
      return;
    }
    this.#seen.set(event.id, event);
    this.#bytes += event.json.length;
    this.#docs.push(event);
  }

  take(): Submission {
    const submission: Submission = {
      docs: this.#docs,
      deadLetters: [],
      frames: this.frames,
      bytes: this.#bytes,
      unmappedKeys: 0,
      unsafeKeys: 0,
      input: this.#options.input,
      receivedAt: this.#options.receivedAt,
    };
    this.#docs = [];
    this.#seen = new Map();
    this.#bytes = 0;
    this.frames = 0;
    return submission;
  }
}

export const rawCollector = (options: PrepareOptions): FrameCollector => new RawCollector(options);

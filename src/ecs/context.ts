/**
 * @module ecs/context
 * What every ECS mapper is given besides its record, and what it gives back. Pure: the receive
 * time and the raw text come in here, so no mapper reads a clock or does I/O.
 */
import type { EcsDocument } from "./document.ts";

export interface MapContext {
  /** When the line was read, ISO-8601 UTC. */
  readonly receivedAt: string;
  /** The raw Tanium JSON text: hashed into `event.id` where the event carries no id of its own. */
  readonly text: string;
  /** Whether to keep the raw text at `event.original`. */
  readonly original: boolean;
  /** What preceded the JSON on the line (a syslog header). */
  readonly prefix: string | undefined;
}

export interface MapResult {
  readonly doc: EcsDocument;
  /** Source keys no mapper used (kept under `tanium.*`), for the unmapped-keys count. */
  readonly unmapped: readonly string[];
}

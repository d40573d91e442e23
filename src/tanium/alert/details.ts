/**
 * @module tanium/alert/details
 * The whole decoded payload (B1) / `Match Details` (B2) as a plain copy, so that every value in
 * it stays searchable, not only what the readers pick out. The copy is bounded: ELA caps the
 * payload's nesting at 20 levels, so a value deeper than MAX_DETAILS_DEPTH is kept as its JSON
 * text at the cut, and the cut's path is listed. Objects in the copy have no prototype, and
 * `__proto__` keys (and a `constructor`'s `prototype`) are left out, as the JSON decoder does.
 */
import type { JsonObject } from "../keys.ts";

/** Nesting levels kept as structure below the details object itself. */
export const MAX_DETAILS_DEPTH = 20;
/** Cut paths listed; a hostile payload could have one per leaf, and the count is what matters. */
export const MAX_TRUNCATED_PATHS = 64;

export interface DetailsCopy {
  readonly value: Record<string, unknown>;
  /** Dotted paths (array items by index) where the structure was cut and kept as JSON text. */
  readonly truncated: string[];
  /** `__proto__`-like keys left out. */
  readonly unsafeKeys: number;
}

export function copyDetails(details: JsonObject): DetailsCopy {
  const state = { truncated: [] as string[], unsafeKeys: 0 };
  const value = copyObject(details, "", false, 1, state);
  return { value, truncated: state.truncated, unsafeKeys: state.unsafeKeys };
}

interface CopyState {
  truncated: string[];
  unsafeKeys: number;
}

/** `depth` is the object's own level (the details object is level 1). */
function copyObject(
  object: JsonObject,
  path: string,
  isConstructor: boolean,
  depth: number,
  state: CopyState,
): Record<string, unknown> {
  const out = Object.create(null) as Record<string, unknown>;
  for (const key in object) {
    if (!Object.hasOwn(object, key)) continue;
    if (key === "__proto__" || (isConstructor && key === "prototype")) {
      state.unsafeKeys++;
      continue;
    }
    const child = copyValue(object[key], path === "" ? key : `${path}.${key}`, key, depth, state);
    if (child !== undefined) out[key] = child;
  }
  return out;
}

/** A member of a container at level `depth`: an object or array here would be one level deeper. */
function copyValue(value: unknown, path: string, key: string, depth: number, state: CopyState): unknown {
  if (value === null || typeof value !== "object") return value;
  if (depth >= MAX_DETAILS_DEPTH) {
    if (state.truncated.length < MAX_TRUNCATED_PATHS) state.truncated.push(path);
    try {
      return JSON.stringify(value);
    } catch {
      // Nested past what JSON.stringify's stack allows: hostile, and left out.
      return undefined;
    }
  }
  if (Array.isArray(value)) {
    return value.map((item: unknown, i) => copyValue(item, `${path}.${i}`, "", depth + 1, state) ?? null);
  }
  return copyObject(value as JsonObject, path, key === "constructor", depth + 1, state);
}

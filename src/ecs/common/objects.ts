/**
 * @module ecs/common/objects
 * Small object helpers every ECS mapper shares.
 */

/**
 * A copy without the undefined members, or undefined when none is left, so that no empty object
 * is emitted. Copies rather than deletes: `delete` turns a V8 object slow, and with it every
 * JSON.stringify of the document.
 */
export function defined<T extends object>(value: T): T | undefined {
  let out: Record<string, unknown> | undefined;
  for (const key in value) {
    const item = value[key];
    if (item !== undefined) (out ??= {})[key] = item;
  }
  return out as T | undefined;
}

/** Whether an object has any own enumerable member (without allocating a key list). */
export function hasMembers(value: object): boolean {
  for (const key in value) if (Object.hasOwn(value, key)) return true;
  return false;
}

/**
 * @module decoding/json
 * JSON text → value, hostile-input safe: `__proto__` and `constructor.prototype` keys are removed
 * before anything reads the value (counted, so the document can say so). secure-json-parse runs
 * only when one of them can occur: it is slower than JSON.parse.
 */
import sjson from "secure-json-parse";

export type JsonParse =
  | { readonly ok: true; readonly value: unknown; readonly unsafeKeys: number }
  | { readonly ok: false; readonly tooDeep: boolean; readonly message: string };

const FORBIDDEN = "Object contains forbidden prototype property";

export function parseJsonSafely(text: string): JsonParse {
  try {
    // Every spelling of a forbidden key holds one of these substrings (`\u` covers escaped ones),
    // and memchr-fast indexOf rules them out for nearly every line before any regex runs.
    const value: unknown =
      text.includes("__proto__") || text.includes("constructor") || text.includes("\\u")
        ? sjson.parse(text, null, { protoAction: "error", constructorAction: "error" })
        : JSON.parse(text);
    return { ok: true, value, unsafeKeys: 0 };
  } catch (err) {
    // Not a SyntaxError: the parser's own stack ran out on hostile nesting.
    if (!(err instanceof SyntaxError)) {
      return { ok: false, tooDeep: true, message: err instanceof Error ? err.message : String(err) };
    }
    if (err.message !== FORBIDDEN) return { ok: false, tooDeep: false, message: syntaxMessage(err.message) };
    const value: unknown = sjson.parse(text, null, { protoAction: "remove", constructorAction: "remove" });
    return { ok: true, value, unsafeKeys: 1 };
  }
}

/**
 * V8's message without the ` (line L column C)` that Node 22+ appends after `at position N`: the
 * position already says where, and a dead letter's message must not change with the Node version
 * that wrote it (golden fixtures compare it, and `replay` groups by it).
 */
function syntaxMessage(message: string): string {
  return message.replace(/ \(line \d+ column \d+\)$/, "");
}

/** How a JSON value that is not an object is named in messages. */
export function kindOf(value: unknown): string {
  return Array.isArray(value) ? "an array" : value === null ? "null" : typeof value;
}

/**
 * @module decoding/keyvalue
 * Tanium Connect's syslog key=value text (events.md §3.1, §4; EXA-IM, EXA-CIM2):
 * `User="CONTOSO\svc" Computer-Name ="fs-01" File-Path="C:\x.txt" Change-Type=Write`. Connect
 * turns the spaces of column names into `-` and sometimes writes a blank before `=`, so blanks
 * around `=` are allowed. A value is `"quoted"` (a backslash escapes `"` and `\`; any other
 * backslash is kept, since Windows paths arrive unescaped) or bare (up to the next blank). Words
 * that are not pairs (`Tanium`, `…`) are skipped. Hostile-input safe: the result has no
 * prototype, `__proto__` keys are dropped (and counted), and pairs and key lengths are capped.
 */

export interface KeyValueLimits {
  /** Pairs kept; later ones are ignored (default 256). */
  readonly maxPairs?: number;
  /** Longest key; a longer "key" is taken for a word (default 128). */
  readonly maxKeyLength?: number;
}

export interface KeyValues {
  /** The pairs, keys as written (`Computer-Name`); the first of repeated keys wins. */
  readonly pairs: Record<string, string>;
  readonly count: number;
  /** Where the first pair's key starts in the text. */
  readonly firstAt: number;
  /** How many `__proto__` keys were dropped. */
  readonly unsafeKeys: number;
}

const DEFAULT_MAX_PAIRS = 256;
const DEFAULT_MAX_KEY_LENGTH = 128;

/** The pairs of `text`, or undefined when it holds none. */
export function parseKeyValue(text: string, limits: KeyValueLimits = {}): KeyValues | undefined {
  const maxPairs = limits.maxPairs ?? DEFAULT_MAX_PAIRS;
  const maxKeyLength = limits.maxKeyLength ?? DEFAULT_MAX_KEY_LENGTH;
  const pairs = Object.create(null) as Record<string, string>;
  let count = 0;
  let firstAt = -1;
  let unsafeKeys = 0;
  let i = 0;
  const n = text.length;
  while (i < n && count < maxPairs) {
    while (i < n && isBlank(text.charCodeAt(i))) i++;
    if (i >= n) break;
    const keyStart = i;
    while (i < n && isKeyChar(text.charCodeAt(i))) i++;
    const key = text.slice(keyStart, i);
    let j = i;
    while (j < n && text.charCodeAt(j) === 32) j++;
    if (key === "" || text[j] !== "=" || key.length > maxKeyLength) {
      // Not a pair: skip this word (a stray `"` or `=` is one character long).
      i = i === keyStart ? i + 1 : i;
      continue;
    }
    j++;
    while (j < n && text.charCodeAt(j) === 32) j++;
    let value: string;
    if (text[j] === '"') {
      const quoted = readQuoted(text, j + 1);
      value = quoted.value;
      i = quoted.end;
    } else {
      const start = j;
      while (j < n && !isBlank(text.charCodeAt(j))) j++;
      value = text.slice(start, j);
      i = j;
    }
    if (key === "__proto__") {
      unsafeKeys++;
      continue;
    }
    if (firstAt < 0) firstAt = keyStart;
    if (!(key in pairs)) {
      pairs[key] = value;
      count++;
    }
  }
  return count === 0 ? undefined : { pairs, count, firstAt, unsafeKeys };
}

/** A quoted value from just after its opening `"`; an unterminated one runs to the end. */
function readQuoted(text: string, from: number): { value: string; end: number } {
  let value = "";
  let run = from;
  let i = from;
  while (i < text.length) {
    const c = text[i];
    if (c === '"') return { value: value + text.slice(run, i), end: i + 1 };
    if (c === "\\" && (text[i + 1] === '"' || text[i + 1] === "\\")) {
      value += text.slice(run, i);
      run = i + 1;
      i += 2;
      continue;
    }
    i++;
  }
  return { value: value + text.slice(run), end: text.length };
}

function isBlank(code: number): boolean {
  return code === 32 || code === 9 || code === 10 || code === 13;
}

/** A key: anything up to a blank, `=` or `"`. */
function isKeyChar(code: number): boolean {
  return !isBlank(code) && code !== 61 && code !== 34;
}

/** Renders one value so that parseKeyValue reads it back (for tests and tools). */
export function quoteValue(value: string): string {
  return `"${value.replaceAll("\\", "\\\\").replaceAll('"', '\\"')}"`;
}

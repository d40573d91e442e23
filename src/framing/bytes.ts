/**
 * @module framing/bytes
 * The ASCII bytes the framers look for. Each is a single byte that never occurs inside a UTF-8
 * multi-byte sequence, so the framers can scan bytes without decoding them.
 */
export const LF = 0x0a;
export const CR = 0x0d;
export const SPACE = 0x20;
export const TAB = 0x09;
export const QUOTE = 0x22;
export const BACKSLASH = 0x5c;
export const COMMA = 0x2c;
export const OPEN_BRACKET = 0x5b;
export const CLOSE_BRACKET = 0x5d;
export const OPEN_BRACE = 0x7b;
export const CLOSE_BRACE = 0x7d;
export const ZERO = 0x30;
export const NINE = 0x39;

/** JSON's whitespace (RFC 8259 §2), which is also what separates syslog frames. */
export function isBlank(b: number): boolean {
  return b === SPACE || b === LF || b === CR || b === TAB;
}

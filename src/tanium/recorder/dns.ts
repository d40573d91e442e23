/**
 * @module tanium/recorder/dns
 * A `dns_event`'s `response`. Its format is unconfirmed (events.md §7): it may be one address, a
 * list (comma, semicolon, bar or space separated), a name, or `[unresolved]`.
 */

const SEPARATORS = /[\s,;|]+/;

/** The answers in a response, brackets removed, without the `unresolved` marker. */
export function dnsAnswers(response: string): string[] {
  return response
    .split(SEPARATORS)
    .map((part) => part.replace(/^\[|\]$/g, ""))
    .filter((part) => part !== "" && part.toLowerCase() !== "unresolved");
}

/**
 * @module tanium/columns
 * Small readers shared by the Connect exports that Elastic's Tanium integration receives besides
 * the detection shapes (connect-exports.md: action history, client status, discover, endpoint
 * configuration, saved-question reports): counting marker columns, MAC addresses, `DOMAIN\name`
 * users, lists packed into one text column.
 */
import { canonicalKey, MAX_KEYS_PER_OBJECT } from "./keys.ts";
import { readString } from "./values.ts";

/** How many keys of `object` (up to MAX_KEYS_PER_OBJECT) have one of the canonical spellings. */
export function countColumns(
  object: Readonly<Record<string, unknown>>,
  canonicals: ReadonlySet<string>,
): number {
  let n = 0;
  let found = 0;
  for (const key in object) {
    if (++n > MAX_KEYS_PER_OBJECT) break;
    if (canonicals.has(canonicalKey(key))) found++;
  }
  return found;
}

const MAC_HEX = /^[0-9A-Fa-f]{12}$/;

/**
 * A MAC address in ECS's form: six (or eight, EUI-64) upper-case hex pairs joined by `-`
 * (ECS `host.mac`: "the notation format from RFC 7042 is suggested"). Accepts `-`, `:` or `.`
 * separated and bare hex; undefined for anything else (kept as sent by the caller).
 */
export function ecsMac(text: string): string | undefined {
  const hex = text.trim().replace(/[-:.]/g, "");
  if (!(MAC_HEX.test(hex) || (hex.length === 16 && /^[0-9A-Fa-f]+$/.test(hex)))) return undefined;
  const upper = hex.toUpperCase();
  const pairs: string[] = [];
  for (let i = 0; i < upper.length; i += 2) pairs.push(upper.slice(i, i + 2));
  return pairs.join("-");
}

/** `CORP\jdoe` → domain `CORP`, name `jdoe`; anything else is the name alone. */
export function splitDomainUser(user: string): { name: string; domain?: string } {
  const slash = user.indexOf("\\");
  if (slash > 0 && slash < user.length - 1)
    return { domain: user.slice(0, slash), name: user.slice(slash + 1) };
  return { name: user };
}

/** Most items read from one packed text column by default (a hostile row cannot make the list unbounded). */
export const MAX_LIST_ITEMS = 64;

/**
 * A text column holding several values (Interact answers joined by newlines or commas, Discover's
 * `Ports` as `22,41000`): the trimmed non-empty items, at most `max`.
 */
export function splitList(
  value: unknown,
  field: string,
  separators: RegExp,
  max: number = MAX_LIST_ITEMS,
): string[] {
  const text = readString(value, field);
  if (text === undefined) return [];
  const items: string[] = [];
  for (const part of text.split(separators)) {
    const item = part.trim();
    if (item !== "") items.push(item);
    if (items.length >= max) break;
  }
  return items;
}

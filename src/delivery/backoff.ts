/**
 * @module delivery/backoff
 * Capped exponential backoff with full jitter (AWS Architecture Blog, "Exponential Backoff and
 * Jitter"): each wait is uniform in [0, min(cap, base × 2^attempt)], so that many retriers spread
 * out instead of hammering a recovering destination in step (the 429 storms of beats#36926).
 * One implementation for every retrier: the TCP input's store writes and the remote sinks.
 */
export interface BackoffOptions {
  /** The first attempt's ceiling, ms (default 100). */
  readonly baseMs?: number;
  /** The ceiling's cap, ms (default 5000). */
  readonly capMs?: number;
}

export function backoffDelay(
  attempt: number,
  options: BackoffOptions = {},
  random: () => number = Math.random,
): number {
  const base = options.baseMs ?? 100;
  const cap = options.capMs ?? 5000;
  return Math.round(random() * Math.min(cap, base * 2 ** Math.min(attempt, 30)));
}

/**
 * The wait before the next attempt: the server's own `Retry-After` when it gave one (seconds, or
 * an HTTP date), never less than the jittered backoff, and never more than `maxMs` (a hostile or
 * broken server must not stall delivery for a day).
 */
export function retryWait(
  attempt: number,
  retryAfter: string | null | undefined,
  options: BackoffOptions & { readonly maxMs?: number } = {},
  now: number = Date.now(),
): number {
  const jittered = backoffDelay(attempt, options);
  const asked = parseRetryAfter(retryAfter, now);
  const wait = asked === undefined ? jittered : Math.max(asked, jittered);
  return Math.min(wait, options.maxMs ?? 60_000);
}

/** `Retry-After` in ms (RFC 9110 §10.2.3: delay-seconds or an HTTP-date); undefined when absent or unreadable. */
export function parseRetryAfter(
  value: string | null | undefined,
  now: number = Date.now(),
): number | undefined {
  if (value === null || value === undefined) return undefined;
  const text = value.trim();
  if (/^\d+$/.test(text)) return Number(text) * 1000;
  const at = Date.parse(text);
  return Number.isFinite(at) ? Math.max(0, at - now) : undefined;
}

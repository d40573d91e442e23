/**
 * @module server/auth
 * The shared-secret check of the HTTP routes: `Authorization: Bearer <token>`, or the token in a
 * named header (Tanium Connect HTTP destinations can send custom headers but not every setup can
 * build a bearer value).
 */
import { createHash, timingSafeEqual } from "node:crypto";
import type { IncomingHttpHeaders } from "node:http";

export interface AuthSettings {
  /** No token: every request passes (the server then binds loopback only). */
  readonly token: string | undefined;
  /** Lower-case header name that may carry the token. */
  readonly tokenHeader: string | undefined;
}

function digest(text: string): Buffer {
  return createHash("sha256").update(text, "utf8").digest();
}

/**
 * Compares digests, so that neither the token's length nor its prefix shows in the time taken
 * (timingSafeEqual needs equal lengths; the digests always are).
 */
function sameSecret(given: string, expected: Buffer): boolean {
  return timingSafeEqual(digest(given), expected);
}

/** Returns a checker for request headers; each header is tried, so neither short-circuits on the other. */
export function createAuth(settings: AuthSettings): (headers: IncomingHttpHeaders) => boolean {
  const { token, tokenHeader } = settings;
  if (token === undefined) return () => true;
  const expected = digest(token);
  return (headers) => {
    let ok = false;
    const authorization = headers.authorization;
    if (typeof authorization === "string") {
      const m = /^Bearer[ \t]+(\S+)\s*$/i.exec(authorization);
      if (m !== null && sameSecret(m[1]!, expected)) ok = true;
    }
    if (tokenHeader !== undefined) {
      const value = headers[tokenHeader];
      if (typeof value === "string" && sameSecret(value.trim(), expected)) ok = true;
    }
    return ok;
  };
}

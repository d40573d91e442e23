/**
 * @module store/client
 * What `query`, `replay` and `export` share: ask the running server first (it holds the database
 * file, which DuckDB lets one process open at a time); when nothing listens at `--server`, open
 * `--data` directly. A database locked by a server elsewhere gets a message saying so.
 */
import { connect } from "node:net";
import { duckdbStore, type DuckDbEventStore } from "./duckdb.ts";
import { StoreError } from "./errors.ts";

export const DEFAULT_DATA_DIR = "./tanium-data";
export const DEFAULT_SERVER = "http://127.0.0.1:9580";
export const TOKEN_ENV = "TANIUM_ECS_TOKEN";
export const QUERY_TOKEN_ENV = "TANIUM_ECS_QUERY_TOKEN";
/** How long to wait for a TCP connection to the server before working on `--data` directly. */
const CONNECT_TIMEOUT_MS = 1000;

export interface StoreClientOptions {
  data: string;
  server: string;
  token?: string;
}

/** A failure to report in one line, with the exit status to use. */
export class CliError extends Error {
  override name = "CliError";
  readonly exitCode: number;
  constructor(message: string, exitCode = 1) {
    super(message);
    this.exitCode = exitCode;
  }
}

/** True when something accepts TCP connections at the server's address (refused or silent: false). */
export function serverListening(server: string): Promise<boolean> {
  let url: URL;
  try {
    url = new URL(server);
  } catch {
    return Promise.reject(new CliError(`--server: not a URL: ${server}`));
  }
  const port = Number(url.port || (url.protocol === "https:" ? 443 : 80));
  const host = url.hostname.replace(/^\[|\]$/g, "");
  return new Promise((resolve) => {
    const socket = connect({ host, port });
    const done = (up: boolean): void => {
      socket.destroy();
      resolve(up);
    };
    socket.setTimeout(CONNECT_TIMEOUT_MS, () => done(false));
    socket.once("connect", () => done(true));
    socket.once("error", () => done(false));
  });
}

/** The token `query`, `replay` and `export` send: `--token`, else the query token's env, else the ingest token's. */
export function queryToken(options: StoreClientOptions): string | undefined {
  for (const token of [options.token, process.env[QUERY_TOKEN_ENV], process.env[TOKEN_ENV]]) {
    if (token !== undefined && token !== "") return token;
  }
  return undefined;
}

/** POSTs JSON to the server; a non-2xx answer becomes a CliError with the server's message. */
export async function postToServer(
  options: StoreClientOptions,
  path: string,
  body: unknown,
): Promise<Response> {
  const headers: Record<string, string> = { "content-type": "application/json" };
  const token = queryToken(options);
  if (token !== undefined) headers.authorization = `Bearer ${token}`;
  const url = new URL(path, options.server);
  let response: Response;
  try {
    response = await fetch(url, { method: "POST", headers, body: JSON.stringify(body) });
  } catch (err) {
    throw new CliError(`${url.origin}: ${err instanceof Error ? err.message : String(err)}`);
  }
  if (response.ok) return response;
  const text = await response.text();
  let message = text;
  try {
    const parsed = JSON.parse(text) as unknown;
    // `{"error": {"code", "message"}}`, the server's error body on every route.
    const error =
      parsed !== null && typeof parsed === "object" && "error" in parsed ? parsed.error : undefined;
    if (error !== null && typeof error === "object" && "message" in error) message = String(error.message);
    else if (typeof error === "string") message = error;
  } catch {
    // Not JSON: the text as is.
  }
  if (response.status === 401 || response.status === 403) {
    throw new CliError(
      `${url.origin} refused the request (${response.status}): give the query token with --token or set ${QUERY_TOKEN_ENV}.`,
    );
  }
  throw new CliError(message.trim() === "" ? `${url.origin} answered ${response.status}.` : message);
}

/** Opens `--data` directly; a lock held elsewhere is explained in terms of the server. */
export async function openDataDir(options: StoreClientOptions, readOnly: boolean): Promise<DuckDbEventStore> {
  try {
    return await duckdbStore({ dataDir: options.data, readOnly });
  } catch (err) {
    if (err instanceof StoreError && err.code === "ERR_STORE_LOCKED") {
      throw new CliError(
        `${err.message} Nothing answered at ${options.server}; is the server listening elsewhere?`,
      );
    }
    if (err instanceof StoreError) throw new CliError(err.message);
    throw err;
  }
}

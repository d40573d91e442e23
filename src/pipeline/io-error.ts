/**
 * @module pipeline/io-error
 * A failed read or write of an input or output, with a message fit for one line on stderr: the
 * CLI reports it and exits 1, instead of a stack trace.
 */

const REASONS: Readonly<Record<string, string>> = {
  ENOENT: "no such file or directory",
  EACCES: "permission denied",
  EPERM: "operation not permitted",
  EISDIR: "is a directory",
  ENOTDIR: "a parent is not a directory",
  EPIPE: "broken pipe",
  ENOSPC: "no space left on device",
  EROFS: "read-only file system",
  EMFILE: "too many open files",
};

export class IoError extends Error {
  /** The system error code, such as ENOENT, when there is one. */
  readonly code: string | undefined;

  /** `what` names the action and its target, e.g. "cannot read logs/a.ndjson". */
  constructor(what: string, cause?: unknown) {
    const code = errorCode(cause);
    const reason =
      code !== undefined && REASONS[code] !== undefined ? `${REASONS[code]} (${code})` : describe(cause);
    super(reason === "" ? what : `${what}: ${reason}`, { cause });
    this.name = "IoError";
    this.code = code;
  }
}

function errorCode(err: unknown): string | undefined {
  if (err instanceof Error && "code" in err && typeof err.code === "string") return err.code;
  return undefined;
}

function describe(err: unknown): string {
  if (err === undefined) return "";
  return err instanceof Error ? err.message : String(err);
}

/**
 * @module tanium/platform
 * Which platform an event comes from, as far as it can be told for certain, and how its command
 * lines split into arguments.
 *
 * - The OS family is claimed only on evidence: what the event says (an alert's
 *   `system_info.platform`/`os`), or what only Windows produces: a recorder security-log or
 *   registry event, a drive path (`C:\…`, `C:/…`), a path that starts with a backslash (UNC
 *   `\\server\share`, `\\?\…`, `\Device\…`), a command line that begins with one of those. A
 *   `/` path is never taken as Linux: macOS and other Unixes have the same paths.
 * - Arguments: Windows rules when the family is Windows, POSIX shell rules for Linux, macOS and
 *   Unix. When the family is not known, the process's own executable decides where it can (an
 *   image path is absolute in Tanium's reports: `C:\…` on Windows, `/…` elsewhere); failing that,
 *   the arguments are given only when both rules split the line the same way (no quotes, no
 *   backslashes), so a detection rule never sees a guess.
 */
import type { AlertProcessRecord, AlertRecord } from "./alert/record.ts";
import {
  splitCommandLine,
  splitPosixCommandLine,
  splitWindowsCommandLine,
  type ArgvPlatform,
} from "./command-line.ts";
import { describeOs, type OsFamily } from "./os.ts";
import type { IntegrityRecord } from "./integrity/record.ts";
import type { RecorderEvent } from "./recorder/record.ts";

/**
 * More arguments than a Windows command line can hold (32,767 characters: at most 16,384
 * one-character arguments) is hostile input: no `args` then; the command line is still kept.
 */
export const MAX_ARGS = 16_384;

const BACKSLASH = 0x5c;
const SLASH = 0x2f;
const COLON = 0x3a;
const QUOTE = 0x22;

/** A path only Windows writes: `X:\` or `X:/` (a drive), or a leading backslash (UNC, device). */
export function isWindowsPath(path: string | undefined): boolean {
  if (path === undefined || path.length < 2) return false;
  const first = path.charCodeAt(0);
  if (first === BACKSLASH) return true;
  return isDriveLetter(first) && path.charCodeAt(1) === COLON && isSeparator(path.charCodeAt(2));
}

/**
 * A command line whose program is a Windows drive or UNC path, bare or quoted (`"C:\Program
 * Files\…"`). One leading backslash is not enough here: `\ls` is a shell idiom.
 */
export function isWindowsCommandLine(line: string | undefined): boolean {
  if (line === undefined) return false;
  const at = line.charCodeAt(0) === QUOTE ? 1 : 0;
  const first = line.charCodeAt(at);
  if (first === BACKSLASH) return line.charCodeAt(at + 1) === BACKSLASH;
  return isDriveLetter(first) && line.charCodeAt(at + 1) === COLON && isSeparator(line.charCodeAt(at + 2));
}

function isDriveLetter(c: number): boolean {
  return (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a);
}

function isSeparator(c: number): boolean {
  return c === BACKSLASH || c === SLASH;
}

/** The recorder event's OS family, when certain: only Windows can be told (module header). */
export function recorderOsFamily(record: RecorderEvent): OsFamily | undefined {
  if (record.family === "security" || record.family === "registry") return "windows";
  const { process, file, image } = record;
  if (
    isWindowsPath(process.executable) ||
    isWindowsPath(process.parent?.executable) ||
    isWindowsCommandLine(process.commandLine) ||
    isWindowsCommandLine(process.parent?.commandLine) ||
    isWindowsPath(file.fullPath) ||
    isWindowsPath(file.srcFullPath) ||
    isWindowsPath(file.dstFullPath) ||
    isWindowsPath(image.fullPath)
  ) {
    return "windows";
  }
  return undefined;
}

/** An Integrity Monitor row's OS family: a watched registry path or a Windows path is Windows. */
export function integrityOsFamily(record: IntegrityRecord): OsFamily | undefined {
  if (record.pathKind === "registry" || isWindowsPath(record.path) || isWindowsPath(record.processPath)) {
    return "windows";
  }
  return undefined;
}

/** The alert's OS family: `system_info` when it says, else Windows paths in the match. */
export function alertOsFamily(record: AlertRecord): OsFamily | undefined {
  const match = record.match;
  if (match === undefined) return undefined;
  const family = describeOs(match.finding.system)?.family;
  if (family !== undefined) return family;
  const chain = match.process;
  if (chain !== undefined && (windowsProcess(chain.process) || chain.ancestors.some(windowsProcess))) {
    return "windows";
  }
  return isWindowsPath(match.file?.path) ? "windows" : undefined;
}

function windowsProcess(p: AlertProcessRecord): boolean {
  return isWindowsPath(p.executable) || isWindowsPath(p.name) || isWindowsCommandLine(p.commandLine);
}

/** How a command line of this family splits; undefined when the family is not known. */
export function argvPlatform(family: OsFamily | undefined): ArgvPlatform | undefined {
  if (family === undefined) return undefined;
  return family === "windows" ? "windows" : "posix";
}

/**
 * A process's command line as its arguments, by the module header's rules, or undefined when
 * the platform cannot be told and the two rules disagree. `executable` is the process's image
 * path, when known.
 */
export function commandLineArgs(
  commandLine: string,
  family: OsFamily | undefined,
  executable: string | undefined,
): string[] | undefined {
  let platform = argvPlatform(family);
  if (platform === undefined && executable !== undefined) {
    if (isWindowsPath(executable)) platform = "windows";
    else if (executable.charCodeAt(0) === SLASH) platform = "posix";
  }
  if (platform === undefined && isWindowsCommandLine(commandLine)) platform = "windows";
  if (platform !== undefined) return bounded(splitCommandLine(commandLine, platform));
  const windows = splitWindowsCommandLine(commandLine);
  const posix = splitPosixCommandLine(commandLine);
  if (windows.length !== posix.length) return undefined;
  for (let i = 0; i < windows.length; i++) if (windows[i] !== posix[i]) return undefined;
  return bounded(windows);
}

function bounded(args: string[]): string[] | undefined {
  return args.length > MAX_ARGS ? undefined : args;
}

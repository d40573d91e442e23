/**
 * @module decoding/syslog
 * Syslog headers in front of a Tanium payload. Connect's syslog destinations put one before the
 * JSON ("SYSLOG+JSON", GCH-TR) or before key=value pairs (`<ISO time> <host> Tanium … User="…"`,
 * EXA-IM; events.md §0.3, §4, §5). Three header forms are read:
 * - RFC 5424: `<PRI>VERSION TIMESTAMP HOSTNAME APP-NAME PROCID MSGID STRUCTURED-DATA [MSG]`;
 * - RFC 3164 (BSD): `[<PRI>]Mmm dd hh:mm:ss HOSTNAME TAG[pid]: MSG`;
 * - the same with an ISO-8601 time instead of the BSD one (Exabeam's Tanium parsers, EXA-IM).
 * A `<PRI>` followed by none of these is still a header (just the priority). Never throws: text
 * that is no header gives undefined. Index scanning and anchored regexes only, so the cost is
 * linear in the line whatever it holds.
 */

export interface SyslogHeader {
  /** `<PRI>` = facility × 8 + severity (RFC 5424 §6.2.1), 0–191. */
  priority?: number;
  facility?: number;
  severity?: number;
  /** RFC 5424 VERSION (`1`); absent in the BSD forms. */
  version?: number;
  /** The header's time as sent (`2024-03-11T09:15:42.500Z`, `Mar 11 09:15:42`). */
  timestamp?: string;
  hostname?: string;
  /** RFC 5424 APP-NAME, or the BSD TAG. */
  appname?: string;
  procid?: string;
  msgid?: string;
  /** RFC 5424 STRUCTURED-DATA as sent (`[id k="v"]…`); absent for the nil value `-`. */
  structuredData?: string;
  /** What follows the header (RFC 5424 MSG, RFC 3164 CONTENT); may be empty. */
  message: string;
}

/** RFC 5424 §6 field length limits; longer tokens mean the text is not an RFC 5424 header. */
const MAX_HOSTNAME = 255;
const MAX_APPNAME = 48;
const MAX_PROCID = 128;
const MAX_MSGID = 32;

const RFC5424_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d{1,9})?(?:Z|[+-]\d{2}:\d{2})$/;
const BSD_TIME =
  /^(?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) [ \d]\d \d{2}:\d{2}:\d{2}(?:\.\d{1,6})? /;
const ISO_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(?::\d{2}(?:[.,]\d{1,9})?)?(?:Z|[+-]\d{2}(?::?\d{2})?)? /;
/** A BSD TAG (RFC 3164 §4.1.3, widened to the characters daemons use) with an optional `[pid]` and `:`. */
const TAG = /^([A-Za-z0-9_.\-/]{1,48})(?:\[([^\]\s]{1,128})\])?(:)?(?= |$)/;

/** The header at the start of `line` (after any blanks), or undefined when there is none. */
export function parseSyslog(line: string): SyslogHeader | undefined {
  let at = 0;
  while (at < line.length && (line[at] === " " || line[at] === "\t")) at++;
  let header: SyslogHeader | undefined;
  if (line[at] === "<") {
    const close = line.indexOf(">", at + 1);
    if (close < at + 2 || close > at + 4) return undefined;
    const digits = line.slice(at + 1, close);
    if (!/^\d{1,3}$/.test(digits)) return undefined;
    const priority = Number(digits);
    if (priority > 191) return undefined;
    header = { priority, facility: priority >> 3, severity: priority & 7, message: "" };
    at = close + 1;
    const rfc5424 = parse5424(line, at, header);
    if (rfc5424 !== undefined) return rfc5424;
  }
  const bsd = parseBsd(line, at, header);
  if (bsd !== undefined) return bsd;
  if (header === undefined) return undefined;
  // A priority and then something else: the rest is the message.
  header.message = line.slice(at);
  return header;
}

/** RFC 5424 after `<PRI>`; undefined when the text does not follow its grammar. */
function parse5424(line: string, start: number, pri: SyslogHeader): SyslogHeader | undefined {
  const version = /^([1-9]\d{0,2}) /.exec(line.slice(start, start + 4));
  if (version === null) return undefined;
  let at = start + (version[0] as string).length;
  const header: SyslogHeader = { ...pri, version: Number(version[1]) };
  const fields: [keyof SyslogHeader & string, number][] = [
    ["timestamp", 64],
    ["hostname", MAX_HOSTNAME],
    ["appname", MAX_APPNAME],
    ["procid", MAX_PROCID],
    ["msgid", MAX_MSGID],
  ];
  for (const [name, max] of fields) {
    const end = line.indexOf(" ", at);
    if (end <= at || end - at > max) return undefined;
    const token = line.slice(at, end);
    if (!isPrintUsAscii(token)) return undefined;
    if (token !== "-") {
      if (name === "timestamp" && !RFC5424_TIME.test(token)) return undefined;
      header[name as "hostname"] = token;
    }
    at = end + 1;
  }
  const sdEnd = structuredDataEnd(line, at);
  if (sdEnd === undefined) return undefined;
  if (line[at] !== "-") header.structuredData = line.slice(at, sdEnd);
  at = sdEnd;
  if (at < line.length) {
    if (line[at] !== " ") return undefined;
    at++;
  }
  // RFC 5424 §6.4: a UTF-8 MSG may start with a byte order mark, which is not part of it.
  if (line.charCodeAt(at) === 0xfeff) at++;
  header.message = line.slice(at);
  return header;
}

/**
 * Where STRUCTURED-DATA starting at `at` ends: after the nil value `-`, or after the last of one
 * or more `[SD-ID PARAM="VALUE"…]` elements. A value may hold any character; `"`, `\` and `]` come
 * escaped with a backslash (RFC 5424 §6.3.3), and an unescaped `]` inside quotes is tolerated.
 */
function structuredDataEnd(line: string, at: number): number | undefined {
  if (line[at] === "-") return at + 1 === line.length || line[at + 1] === " " ? at + 1 : undefined;
  if (line[at] !== "[") return undefined;
  let i = at;
  while (line[i] === "[") {
    i++;
    const idStart = i;
    while (i < line.length && isSdNameChar(line.charCodeAt(i))) i++;
    if (i === idStart) return undefined;
    for (;;) {
      if (line[i] === "]") {
        i++;
        break;
      }
      if (line[i] !== " ") return undefined;
      i++;
      const nameStart = i;
      while (i < line.length && isSdNameChar(line.charCodeAt(i))) i++;
      if (i === nameStart || line[i] !== "=" || line[i + 1] !== '"') return undefined;
      i += 2;
      while (i < line.length && line[i] !== '"') i += line[i] === "\\" ? 2 : 1;
      if (i >= line.length) return undefined;
      i++;
    }
  }
  return i;
}

/** SD-NAME: printable US-ASCII except `=`, space, `]` and `"` (RFC 5424 §6). */
function isSdNameChar(code: number): boolean {
  return code > 32 && code < 127 && code !== 61 && code !== 93 && code !== 34;
}

function isPrintUsAscii(token: string): boolean {
  for (let i = 0; i < token.length; i++) {
    const code = token.charCodeAt(i);
    if (code < 33 || code > 126) return false;
  }
  return true;
}

/** RFC 3164 or ISO time, host, optional tag. */
function parseBsd(line: string, start: number, pri: SyslogHeader | undefined): SyslogHeader | undefined {
  const head = line.slice(start, start + 48);
  const time = BSD_TIME.exec(head) ?? ISO_TIME.exec(head);
  if (time === null) return undefined;
  const header: SyslogHeader = { ...pri, timestamp: (time[0] as string).slice(0, -1), message: "" };
  let at = start + (time[0] as string).length;
  // The host: one token, unless what follows the time is already the payload (`{…}`, `key=…`).
  const hostEnd = tokenEnd(line, at);
  const host = line.slice(at, hostEnd);
  if (host !== "" && host.length <= MAX_HOSTNAME && isHostToken(host) && !startsPair(line, hostEnd)) {
    header.hostname = host;
    at = hostEnd < line.length ? hostEnd + 1 : hostEnd;
    const tag = TAG.exec(line.slice(at, at + 200));
    if (tag !== null && !startsPair(line, at + (tag[0] as string).length)) {
      header.appname = tag[1] as string;
      if (tag[2] !== undefined) header.procid = tag[2];
      at += (tag[0] as string).length;
      if (at < line.length) at++;
    }
  }
  header.message = line.slice(at);
  return header;
}

function tokenEnd(line: string, at: number): number {
  const end = line.indexOf(" ", at);
  return end < 0 ? line.length : end;
}

/** A host name or address: printable, and not the opening of a JSON value or a quoted pair. */
function isHostToken(token: string): boolean {
  return isPrintUsAscii(token) && !/^[{[]/.test(token) && !/[="]/.test(token);
}

/** Whether the text at `at` continues a `key =value` pair (blanks, then `=`). */
function startsPair(line: string, at: number): boolean {
  let i = at;
  while (line[i] === " ") i++;
  return line[i] === "=";
}

/**
 * @module ecs/syslog
 * The syslog header a Tanium payload came behind → ECS `log.syslog.*`. Applied once for every
 * shape (in normalize), so no shape mapper needs to know about transport.
 * @see https://www.elastic.co/docs/reference/ecs/ecs-log
 */
import type { SyslogHeader } from "../decoding/syslog.ts";
import type { EcsLogSyslog } from "./document.ts";

/** Structured-data elements and parameters kept; more is hostile input. */
const MAX_SD_ELEMENTS = 32;
const MAX_SD_PARAMS = 64;

export function ecsLogSyslog(header: SyslogHeader): EcsLogSyslog | undefined {
  const out: EcsLogSyslog = {};
  if (header.priority !== undefined) out.priority = header.priority;
  if (header.facility !== undefined) out.facility = { code: header.facility };
  if (header.severity !== undefined) out.severity = { code: header.severity };
  if (header.version !== undefined) out.version = String(header.version);
  if (header.hostname !== undefined) out.hostname = header.hostname;
  if (header.appname !== undefined) out.appname = header.appname;
  if (header.procid !== undefined) out.procid = header.procid;
  if (header.msgid !== undefined) out.msgid = header.msgid;
  if (header.structuredData !== undefined) {
    const sd = parseStructuredData(header.structuredData);
    if (sd !== undefined) out.structured_data = sd;
  }
  return Object.keys(out).length > 0 ? out : undefined;
}

/**
 * `[id k="v" k2="v2"][id2 …]` → `{id: {k: "v", k2: "v2"}, id2: {}}`, values unescaped (RFC 5424
 * §6.3.3). Null-prototype maps: names come from the input. The header parser has already checked
 * the grammar, so this only splits.
 */
export function parseStructuredData(text: string): Record<string, Record<string, string>> | undefined {
  const out = Object.create(null) as Record<string, Record<string, string>>;
  let elements = 0;
  let i = 0;
  while (text[i] === "[" && elements < MAX_SD_ELEMENTS) {
    i++;
    const idStart = i;
    while (i < text.length && text[i] !== " " && text[i] !== "]") i++;
    const id = text.slice(idStart, i);
    const fresh = Object.create(null) as Record<string, string>;
    // A `__proto__` element is read past but not kept.
    const params = id === "__proto__" ? fresh : (out[id] ??= fresh);
    elements++;
    let count = 0;
    while (text[i] === " ") {
      i++;
      const eq = text.indexOf('="', i);
      if (eq < 0) return elements > 0 ? out : undefined;
      const name = text.slice(i, eq);
      i = eq + 2;
      let value = "";
      while (i < text.length && text[i] !== '"') {
        if (text[i] === "\\" && i + 1 < text.length) {
          const next = text[i + 1] as string;
          // Only `"`, `\` and `]` are escapes; any other backslash is kept (RFC 5424 §6.3.3).
          value += next === '"' || next === "\\" || next === "]" ? next : `\\${next}`;
          i += 2;
        } else {
          value += text[i];
          i++;
        }
      }
      i++;
      if (name !== "__proto__" && ++count <= MAX_SD_PARAMS && !(name in params)) params[name] = value;
    }
    if (text[i] === "]") i++;
  }
  return elements > 0 ? out : undefined;
}

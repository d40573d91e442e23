/**
 * @module ecs/common/message
 * Renders a `message` template against the document: `{host.hostname}` is that field's value.
 * Templates are compiled once; a missing value reads as "unknown" so the sentence stays whole.
 * `{a.b|c.d}` takes the first of several fields that has a value (a name, else its SID).
 */
import type { EcsDocument } from "../document.ts";

/** Literal text, or the alternative field paths of one placeholder. */
type Part = string | readonly (readonly string[])[];

const compiled = new Map<string, readonly Part[]>();

function compile(template: string): readonly Part[] {
  const parts: Part[] = [];
  // Upper case too: Windows EventData names (`{tanium.winlog.event_data.TaskName}`).
  const pattern = /\{([A-Za-z_.@|]+)\}/g;
  let last = 0;
  for (let m = pattern.exec(template); m !== null; m = pattern.exec(template)) {
    if (m.index > last) parts.push(template.slice(last, m.index));
    parts.push((m[1] as string).split("|").map((path) => path.split(".")));
    last = m.index + m[0].length;
  }
  if (last < template.length) parts.push(template.slice(last));
  return parts;
}

export function renderMessage(template: string, doc: EcsDocument): string {
  let parts = compiled.get(template);
  if (parts === undefined) {
    parts = compile(template);
    compiled.set(template, parts);
  }
  let out = "";
  for (const part of parts) out += typeof part === "string" ? part : firstValue(doc, part);
  return out;
}

function firstValue(doc: EcsDocument, paths: readonly (readonly string[])[]): string {
  for (const path of paths) {
    const value = valueAt(doc, path);
    if (value !== undefined) return value;
  }
  return "unknown";
}

function valueAt(doc: EcsDocument, path: readonly string[]): string | undefined {
  let node: unknown = doc;
  for (const segment of path) {
    if (node === null || typeof node !== "object") return undefined;
    node = (node as Record<string, unknown>)[segment];
  }
  if (Array.isArray(node)) node = node[0];
  return typeof node === "string" || typeof node === "number" ? String(node) : undefined;
}

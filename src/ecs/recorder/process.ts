/**
 * @module ecs/recorder/process
 * `process_start` and `process_end` (INFERRED name, with `process_exit`/`process_stop`) → ECS
 * process events. The record's process is the started or ended process itself, so it is also the
 * event's `file` (the seed maps the executable there too); an end adds `process.exit_code` and
 * `process.end`.
 * @see https://www.elastic.co/docs/reference/ecs/ecs-process
 */
import { splitPath } from "../../tanium/paths.ts";
import type { EventSpec, FamilyMapper } from "./spec.ts";
import { defined } from "../common/objects.ts";
import { rowOf } from "./spec.ts";

const ended: EventSpec = {
  category: "process",
  type: "end",
  message: "Process {process.name} ended with exit code {process.exit_code} on {host.hostname}",
};

export const PROCESS_EVENTS: Readonly<Record<string, EventSpec>> = {
  process_start: {
    category: "process",
    type: "start",
    message: "New process {process.name} started on {host.hostname}",
  },
  process_end: ended,
  process_exit: ended,
  process_stop: ended,
};

export const mapProcessEvent: FamilyMapper = (record, doc) => {
  const { executable, md5 } = record.process;
  if (executable !== undefined) {
    doc.file = splitPath(executable);
    if (md5 !== undefined) doc.file.hash = { md5 };
  } else if (md5 !== undefined) {
    doc.file = defined({ hash: { md5 } });
  }
  return rowOf(PROCESS_EVENTS, record.name);
};

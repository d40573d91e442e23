/**
 * @module ecs/recorder/library
 * `image_load` (INFERRED name, with `library_load`; events.md §1.2: "driver and library loads",
 * TR API type Image) → ECS `library`/`start`. The loaded module goes to ECS `dll.*`, the field set
 * ECS defines for it, and also to `file.*` (path, name, directory, extension, hash), as Sysmon's
 * image loads are commonly mapped, so a search on a file path or hash finds the load too. The
 * loading process is the event's `process.*`, read from the usual `process__*` keys.
 * @see https://www.elastic.co/docs/reference/ecs/ecs-dll
 */
import { splitPath } from "../../tanium/paths.ts";
import type { EventSpec, FamilyMapper } from "./spec.ts";
import { defined } from "../common/objects.ts";
import { codeSignature, rowOf } from "./spec.ts";

const loaded: EventSpec = {
  category: "library",
  type: "start",
  message: "Library {dll.name} loaded by {process.name} on {host.hostname}",
};

export const LIBRARY_EVENTS: Readonly<Record<string, EventSpec>> = {
  image_load: loaded,
  library_load: loaded,
};

export const mapLibraryEvent: FamilyMapper = (record, doc) => {
  const { fullPath, md5, sha1, sha256, signed, signature } = record.image;
  const hash = defined({ md5, sha1, sha256 });
  const parts = fullPath === undefined ? undefined : splitPath(fullPath);
  const dll = defined({
    path: parts?.path,
    name: parts?.name,
    hash,
    code_signature: codeSignature(signed, signature),
  });
  if (dll !== undefined) doc.dll = dll;
  const file = defined({ ...parts, hash: hash === undefined ? undefined : { ...hash } });
  if (file !== undefined) doc.file = file;
  return rowOf(LIBRARY_EVENTS, record.name);
};

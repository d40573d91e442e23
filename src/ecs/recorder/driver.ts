/**
 * @module ecs/recorder/driver
 * `driver_load` (INFERRED name; events.md §1.2: "driver and library loads", TR API type Driver
 * with `imageLoaded`, `hashes`, `signature`, `signed`) → ECS `driver`/`start`. ECS has no
 * `driver.*` field set, so the driver image is the event's `file.*`, its signature
 * `file.code_signature.*`.
 * @see https://www.elastic.co/docs/reference/ecs/ecs-allowed-values-event-category#ecs-event-category-driver
 */
import { splitPath } from "../../tanium/paths.ts";
import type { EventSpec, FamilyMapper } from "./spec.ts";
import { defined } from "../common/objects.ts";
import { codeSignature, rowOf } from "./spec.ts";

export const DRIVER_EVENTS: Readonly<Record<string, EventSpec>> = {
  driver_load: {
    category: "driver",
    type: "start",
    message: "Driver {file.name} loaded on {host.hostname}",
  },
};

export const mapDriverEvent: FamilyMapper = (record, doc) => {
  const { fullPath, md5, sha1, sha256, signed, signature } = record.image;
  const hash = defined({ md5, sha1, sha256 });
  const file = defined({
    ...(fullPath === undefined ? undefined : splitPath(fullPath)),
    hash,
    code_signature: codeSignature(signed, signature),
  });
  if (file !== undefined) doc.file = file;
  return rowOf(DRIVER_EVENTS, record.name);
};

/**
 * @module ecs/recorder/file
 * File events → ECS `file.*`. Categorization is the seed's (file_open → `info`, kept for
 * compatibility although ECS would also allow `access`); `file_write` is ours (`change`).
 * @see https://www.elastic.co/docs/reference/ecs/ecs-file
 */
import { splitPath } from "../../tanium/paths.ts";
import type { EventSpec, FamilyMapper } from "./spec.ts";
import { rowOf } from "./spec.ts";

const created = "The file {file.path} was created on {host.hostname}";

export const FILE_EVENTS: Readonly<Record<string, EventSpec>> = {
  file_open: { category: "file", type: "info", message: "The file {file.path} was read on {host.hostname}" },
  file_create: { category: "file", type: "creation", message: created },
  file_write: {
    category: "file",
    type: "change",
    message: "The file {file.path} was written on {host.hostname}",
  },
  file_delete: {
    category: "file",
    type: "deletion",
    message: "The file {file.path} was deleted on {host.hostname}",
  },
  file_move: { category: "file", type: "change", message: "The file {file.path} moved on {host.hostname}" },
  file_permission_change: {
    category: "file",
    type: "change",
    message: "The permission of the file {file.path} were changed on {host.hostname}",
  },
};

/** ECS `file.mode` is the octal string form ("0640"); other permission formats stay Tanium-only. */
const OCTAL_MODE = /^0?[0-7]{3,4}$/;

export const mapFileEvent: FamilyMapper = (record, doc) => {
  const { fullPath, srcFullPath, dstFullPath, permission, readFlag } = record.file;
  // file_move: the file now lives at the destination (GCH-TH maps dst_full_path, then full_path,
  // to the target file); the source path is kept under tanium.file.source_path.
  const path = dstFullPath ?? fullPath;
  if (path !== undefined) doc.file = splitPath(path);
  if (permission !== undefined && OCTAL_MODE.test(permission)) {
    (doc.file ??= {}).mode = permission.length === 3 ? `0${permission}` : permission;
  }
  const extra: { read_flag?: boolean; source_path?: string; permission?: string } = {};
  if (readFlag !== undefined) extra.read_flag = readFlag;
  if (srcFullPath !== undefined && srcFullPath !== path) extra.source_path = srcFullPath;
  if (permission !== undefined) extra.permission = permission;
  if (Object.keys(extra).length > 0) (doc.tanium ??= {}).file = extra;
  return rowOf(FILE_EVENTS, record.name);
};

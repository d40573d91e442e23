/**
 * @module ecs/document
 * The shape of the ECS 9.4 documents tanium-ecs writes: only the fields it fills, nested as ECS
 * nests them. Everything not ECS lives under `tanium`.
 * @see https://www.elastic.co/docs/reference/ecs/ecs-field-reference
 */

export const ECS_VERSION = "9.4.0";

export type EventKind = "event" | "alert" | "pipeline_error";

export interface EcsUser {
  id?: string;
  name?: string;
  domain?: string;
}

export interface EcsGroup {
  name?: string;
}

export interface EcsHash {
  md5?: string;
  sha1?: string;
  sha256?: string;
}

export interface EcsProcessBase {
  pid?: number;
  name?: string;
  executable?: string;
  command_line?: string;
  entity_id?: string;
  start?: string;
  hash?: EcsHash;
  user?: EcsUser;
  group?: EcsGroup;
}

export interface EcsProcess extends EcsProcessBase {
  parent?: EcsProcessBase;
}

export interface EcsFile {
  path?: string;
  name?: string;
  directory?: string;
  extension?: string;
  mode?: string;
  hash?: EcsHash;
}

export interface EcsEndpoint {
  address?: string;
  ip?: string;
  port?: number;
}

export interface EcsDnsAnswer {
  data: string;
}

export interface EcsDocument {
  "@timestamp": string;
  message?: string;
  tags?: string[];
  ecs: { version: string };
  event: {
    kind: EventKind;
    category?: string[];
    type?: string[];
    action?: string;
    module?: string;
    dataset?: string;
    id?: string;
    ingested?: string;
    original?: string;
  };
  observer?: { name?: string; product?: string; type?: string; vendor?: string };
  host?: { hostname?: string; name?: string; id?: string; ip?: string[] };
  user?: EcsUser;
  group?: EcsGroup;
  process?: EcsProcess;
  file?: EcsFile;
  source?: EcsEndpoint;
  destination?: EcsEndpoint;
  network?: { direction?: string; type?: string; protocol?: string };
  dns?: {
    type?: string;
    question?: { name?: string };
    answers?: EcsDnsAnswer[];
    resolved_ip?: string[];
  };
  registry?: { hive?: string; key?: string; value?: string; path?: string };
  related?: { ip?: string[]; hosts?: string[]; user?: string[]; hash?: string[] };
  error?: { code?: string; message?: string };
  log?: { file?: { path?: string } };
  /** Vendor-only values and unmapped Tanium keys, never dropped. */
  tanium?: TaniumNamespace;
}

export interface TaniumNamespace {
  /** Keys of the event's `fields` that no mapper reads, verbatim. */
  fields?: Record<string, unknown>;
  file?: { read_flag?: boolean; source_path?: string; permission?: string };
  /** Whatever preceded the JSON on the line (a syslog header). */
  envelope?: { prefix?: string };
  /** Where a dead letter came from. */
  input?: { name?: string; line?: number };
  [key: string]: unknown;
}

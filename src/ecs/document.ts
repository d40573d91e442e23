/**
 * @module ecs/document
 * The shape of the ECS 9.4 documents tanium-ecs writes: only the fields it fills, nested as ECS
 * nests them. Everything not ECS lives under `tanium`.
 * @see https://www.elastic.co/docs/reference/ecs/ecs-field-reference
 */

export const ECS_VERSION = "9.4.0";

export type EventKind = "event" | "alert" | "state" | "asset" | "pipeline_error";

export interface EcsUser {
  id?: string;
  name?: string;
  domain?: string;
}

export interface EcsGroup {
  id?: string;
  name?: string;
  domain?: string;
}

/** ECS `user.*` at the top level, where the affected (`target`) and assumed (`effective`) users nest. */
export interface EcsUserTop extends EcsUser {
  target?: EcsUser;
  effective?: EcsUser;
}

export interface EcsCodeSignature {
  exists?: boolean;
  subject_name?: string;
}

export interface EcsDll {
  path?: string;
  name?: string;
  hash?: EcsHash;
  code_signature?: EcsCodeSignature;
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
  args?: string[];
  args_count?: number;
  entity_id?: string;
  start?: string;
  end?: string;
  exit_code?: number;
  hash?: EcsHash;
  user?: EcsUser;
  group?: EcsGroup;
  working_directory?: string;
  code_signature?: EcsCodeSignature;
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
  code_signature?: EcsCodeSignature;
  size?: number;
  mtime?: string;
}

export interface EcsEndpoint {
  address?: string;
  domain?: string;
  ip?: string;
  port?: number;
}

export interface EcsOs {
  type?: string;
  platform?: string;
  full?: string;
  name?: string;
  version?: string;
}

export interface EcsRule {
  id?: string;
  uuid?: string;
  version?: string;
  name?: string;
  category?: string;
  ruleset?: string;
  description?: string;
}

/** ECS `threat.*`: the MITRE ATT&CK techniques an alert names. */
export interface EcsThreat {
  framework?: string;
  technique?: {
    id?: string[];
    reference?: string[];
    subtechnique?: { id?: string[]; reference?: string[] };
  };
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
    outcome?: string;
    code?: string;
    provider?: string;
    reason?: string;
    module?: string;
    dataset?: string;
    id?: string;
    ingested?: string;
    original?: string;
    severity?: number;
    risk_score?: number;
    url?: string;
    start?: string;
    end?: string;
    created?: string;
  };
  observer?: { name?: string; product?: string; type?: string; vendor?: string };
  host?: { hostname?: string; name?: string; id?: string; ip?: string[]; mac?: string[]; os?: EcsOs };
  agent?: { type?: string; version?: string };
  client?: EcsEndpoint;
  server?: EcsEndpoint;
  package?: { name?: string };
  device?: { manufacturer?: string; model?: { name?: string }; serial_number?: string };
  rule?: EcsRule;
  threat?: EcsThreat;
  user?: EcsUserTop;
  group?: EcsGroup;
  process?: EcsProcess;
  file?: EcsFile;
  dll?: EcsDll;
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
  log?: { file?: { path?: string }; syslog?: EcsLogSyslog };
  /** Vendor-only values and unmapped Tanium keys, never dropped. */
  tanium?: TaniumNamespace;
}

/** ECS `log.syslog.*`: the syslog header the event came behind. */
export interface EcsLogSyslog {
  priority?: number;
  facility?: { code?: number };
  severity?: { code?: number };
  version?: string;
  hostname?: string;
  appname?: string;
  procid?: string;
  msgid?: string;
  /** RFC 5424 structured data, `{SD-ID: {PARAM-NAME: value}}` (ECS type `flattened`). */
  structured_data?: Record<string, Record<string, string>>;
}

export interface TaniumNamespace {
  /** Keys of the event's `fields` that no mapper reads, verbatim. */
  fields?: Record<string, unknown>;
  file?: { read_flag?: boolean; source_path?: string; permission?: string };
  /** Whatever preceded the JSON on the line (a syslog header). */
  envelope?: { prefix?: string };
  /** Windows security-log detail, named as Winlogbeat's `winlog.*` (not an ECS field set). */
  winlog?: TaniumWinlog;
  /** Where a dead letter came from. */
  input?: { name?: string; line?: number };
  [key: string]: unknown;
}

export interface TaniumWinlog {
  channel?: string;
  event_id?: string;
  record_id?: string;
  /** Every EventData item as sent, `-` placeholders included. */
  event_data?: Record<string, string>;
  logon?: { type?: string; failure?: { reason?: string; status?: string; sub_status?: string } };
}

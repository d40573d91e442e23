/**
 * @module ecs/recorder/security
 * Windows security-log events of the recorder (INFERRED name `security_event`; keys from GCH-TH:
 * `event_id`, `record_id`, `event__<EventDataName>`) → ECS, by Windows event id.
 *
 * - Categorization and `event.action` follow Winlogbeat's security module, so that Elastic's
 *   rules and dashboards keyed on them work; GCH-TH's classification (events.md §1.2) agrees on
 *   the families. `event.outcome` only where the id itself says it (4624 success, 4625 failure):
 *   the audit success/failure keyword is not among the known keys.
 * - ECS 9.4 has no `winlog.*` (it is a Beats field set, absent from the ECS reference), so the
 *   Windows detail goes to `tanium.winlog.*` under Winlogbeat's names: `event_id`, `record_id`,
 *   `channel`, every EventData item verbatim in `event_data`, `logon.type` and `logon.failure.*`.
 * - Which EventData item plays which role (subject, target, process, …) is Tanium/Windows
 *   knowledge, in tanium/recorder/security.ts; ROLE_FIELDS here places each role in ECS. `-`
 *   placeholders, the NULL SID, process id 0 and port 0 fill nothing; a value that cannot be read
 *   as its field's type fills nothing either (it stays in `event_data`): EventData is free text,
 *   so it never makes a dead letter.
 * - An id not in the table is still a document: no category, `event.code` set, the subject
 *   account and process mapped (their meaning does not change with the id), all data kept.
 * @see https://www.elastic.co/docs/reference/ecs/ecs-user-usage
 */
import { basename } from "../../tanium/paths.ts";
import {
  accountFromDn,
  failureReasonText,
  logonStatusText,
  logonTypeName,
  windowsIp,
  windowsNumber,
  windowsPid,
  windowsPort,
  windowsSid,
  windowsText,
} from "../../tanium/recorder/windows.ts";
import {
  SECURITY_ITEMS,
  UNKNOWN_EVENT_ITEMS,
  type SecurityItem,
  type SecurityItems,
  type SecurityRole,
} from "../../tanium/recorder/security.ts";
import type { EcsDocument, TaniumWinlog } from "../document.ts";
import type { EventSpec, FamilyMapper } from "./spec.ts";
import { defined, hasMembers } from "../common/objects.ts";

interface SecurityRow {
  readonly category?: readonly string[];
  readonly type?: readonly string[];
  readonly action?: string;
  readonly outcome?: "success" | "failure";
  readonly message: string;
}

/**
 * Each role's ECS field. The acting account is the event's `user`; the account acted on is
 * `user.target`, assumed credentials `user.effective` (ECS user usage). `ip` also fills the
 * sibling `address`, `executable` the sibling `name`.
 */
const ROLE_FIELDS: Readonly<Record<SecurityRole, string>> = {
  "actor.name": "user.name",
  "actor.domain": "user.domain",
  "actor.id": "user.id",
  "target.name": "user.target.name",
  "target.domain": "user.target.domain",
  "target.id": "user.target.id",
  "effective.name": "user.effective.name",
  "effective.domain": "user.effective.domain",
  "group.name": "group.name",
  "group.domain": "group.domain",
  "group.id": "group.id",
  "process.pid": "process.pid",
  "process.executable": "process.executable",
  "process.command_line": "process.command_line",
  "process.exit_code": "process.exit_code",
  "parent.pid": "process.parent.pid",
  "parent.executable": "process.parent.executable",
  "source.ip": "source.ip",
  "source.port": "source.port",
};

const iamConfig = ["iam", "configuration"] as const;
const task = (verb: string, type: string, action: string): SecurityRow => ({
  category: iamConfig,
  type: [type, "admin"],
  action,
  message: `Scheduled task {tanium.winlog.event_data.TaskName} ${verb} by {user.name} on {host.hostname}`,
});
const account = (verb: string, type: string, action: string): SecurityRow => ({
  category: ["iam"],
  type: ["user", type],
  action,
  message: `User account {user.target.name|user.target.id} ${verb} by {user.name} on {host.hostname}`,
});
const member = (added: boolean): SecurityRow => ({
  category: ["iam"],
  type: ["group", "change"],
  action: added ? "added-member-to-group" : "removed-member-from-group",
  message: added
    ? "{user.target.name|user.target.id} added to group {group.name} by {user.name} on {host.hostname}"
    : "{user.target.name|user.target.id} removed from group {group.name} by {user.name} on {host.hostname}",
});
const right = (action: string, verb: string): SecurityRow => ({
  category: ["iam"],
  type: ["admin", "change"],
  action,
  message: `User right ${verb} {user.target.id} by {user.name} on {host.hostname}`,
});

/** By Windows event id (as text). */
export const SECURITY_EVENTS: Readonly<Record<string, SecurityRow>> = {
  "4624": {
    category: ["authentication"],
    type: ["start"],
    action: "logged-in",
    outcome: "success",
    message: "{user.name} logged on to {host.hostname} from {source.ip}",
  },
  "4625": {
    category: ["authentication"],
    type: ["start"],
    action: "logon-failed",
    outcome: "failure",
    message: "Failed logon of {user.name} to {host.hostname} from {source.ip}",
  },
  "4634": {
    category: ["authentication"],
    type: ["end"],
    action: "logged-out",
    message: "{user.name} logged off from {host.hostname}",
  },
  "4647": {
    category: ["authentication"],
    type: ["end"],
    action: "logged-out",
    message: "{user.name} logged off from {host.hostname}",
  },
  // The subject used the credentials of another account: that account's privileges are assumed.
  "4648": {
    category: ["authentication"],
    type: ["start"],
    action: "logged-in-explicit",
    message: "{user.name} logged on with the credentials of {user.effective.name} on {host.hostname}",
  },
  // A privileged logon: an IAM fact about the session (Winlogbeat: iam/admin), not a second logon.
  "4672": {
    category: ["iam"],
    type: ["admin"],
    action: "logged-in-special",
    message: "Special privileges assigned to the logon of {user.name} on {host.hostname}",
  },
  "4673": {
    category: ["iam"],
    type: ["admin"],
    action: "privileged-service-called",
    message: "{user.name} called a privileged service on {host.hostname}",
  },
  "4674": {
    category: ["iam"],
    type: ["admin"],
    action: "privileged-operation",
    message: "{user.name} attempted a privileged operation on {host.hostname}",
  },
  // The creator is the parent: `ProcessId` and `ParentProcessName` (Windows 10+) describe it.
  "4688": {
    category: ["process"],
    type: ["start"],
    action: "created-process",
    message: "New process {process.name} started by {user.name} on {host.hostname}",
  },
  "4689": {
    category: ["process"],
    type: ["end"],
    action: "exited-process",
    message: "Process {process.name} exited with status {process.exit_code} on {host.hostname}",
  },
  "4670": {
    category: iamConfig,
    type: ["admin", "change"],
    action: "permissions-changed",
    message: "Permissions on {tanium.winlog.event_data.ObjectName} changed by {user.name} on {host.hostname}",
  },
  "4698": task("created", "creation", "scheduled-task-created"),
  "4699": task("deleted", "deletion", "scheduled-task-deleted"),
  "4700": task("enabled", "change", "scheduled-task-enabled"),
  "4701": task("disabled", "change", "scheduled-task-disabled"),
  "4702": task("updated", "change", "scheduled-task-updated"),
  "4703": {
    category: ["iam"],
    type: ["admin", "change"],
    action: "token-right-adjusted",
    message: "Token rights of {user.target.name|user.target.id} adjusted by {user.name} on {host.hostname}",
  },
  "4704": right("user-right-assigned", "assigned to"),
  "4705": right("user-right-removed", "removed from"),
  "4720": account("created", "creation", "added-user-account"),
  "4722": account("enabled", "change", "enabled-user-account"),
  "4723": account("password change attempted", "change", "changed-password"),
  "4724": account("password reset attempted", "change", "reset-password"),
  // Winlogbeat types a disabled account `deletion`; it still exists, so `change` here.
  "4725": account("disabled", "change", "disabled-user-account"),
  "4726": account("deleted", "deletion", "deleted-user-account"),
  "4738": account("changed", "change", "modified-user-account"),
  "4740": account("locked out", "change", "locked-out-user-account"),
  "4767": account("unlocked", "change", "unlocked-user-account"),
  "4728": member(true),
  "4732": member(true),
  "4756": member(true),
  "4729": member(false),
  "4733": member(false),
  "4757": member(false),
  "4798": {
    category: ["iam"],
    type: ["user", "info"],
    action: "group-membership-enumerated",
    message:
      "Group membership of {user.target.name|user.target.id} enumerated by {user.name} on {host.hostname}",
  },
  "4799": {
    category: ["iam"],
    type: ["group", "info"],
    action: "user-member-enumerated",
    message: "Members of group {group.name} enumerated by {user.name} on {host.hostname}",
  },
};

/** An id not in the table: uncategorized, only what means the same in every event. */
const UNKNOWN_ID: SecurityRow = {
  message: "Windows security event {event.code} on {host.hostname}",
};

/** Every id in the table is written by this provider (Microsoft's security auditing events). */
const PROVIDER = "Microsoft-Windows-Security-Auditing";
/** INFERRED from the event name: the recorder reads the Security log. */
const CHANNEL = "Security";

type Setter = (doc: EcsDocument, value: string) => void;
type CompiledRow = readonly (readonly [name: string, set: Setter])[];

function compileRow(items: SecurityItems): CompiledRow {
  return Object.entries(items).map(([name, s]) => [name, setter(s)] as const);
}

function setter(spec: SecurityItem): Setter {
  const segments = ROLE_FIELDS[spec.role].split(".");
  const leaf = segments.pop() as string;
  const write = (doc: EcsDocument, key: string, value: unknown): void => {
    let node = doc as unknown as Record<string, unknown>;
    for (const segment of segments) node = (node[segment] ??= {}) as Record<string, unknown>;
    node[key] = value;
  };
  switch (spec.kind) {
    case "text":
      return (doc, v) => assign(write, doc, leaf, windowsText(v));
    case "sid":
      return (doc, v) => assign(write, doc, leaf, windowsSid(v));
    case "number":
      return (doc, v) => assign(write, doc, leaf, windowsNumber(v));
    case "pid":
      return (doc, v) => assign(write, doc, leaf, windowsPid(v));
    case "port":
      return (doc, v) => assign(write, doc, leaf, windowsPort(v));
    case "account":
      return (doc, v) => assign(write, doc, leaf, accountFromDn(v));
    case "ip":
      return (doc, v) => {
        const ip = windowsIp(v);
        if (ip === undefined) return;
        write(doc, "address", ip);
        write(doc, leaf, ip);
      };
    case "executable":
      return (doc, v) => {
        const path = windowsText(v);
        if (path === undefined) return;
        write(doc, "name", basename(path));
        write(doc, leaf, path);
      };
  }
}

function assign(
  write: (doc: EcsDocument, key: string, value: unknown) => void,
  doc: EcsDocument,
  key: string,
  value: string | number | undefined,
): void {
  if (value !== undefined) write(doc, key, value);
}

const COMPILED = new Map(Object.entries(SECURITY_ITEMS).map(([id, items]) => [id, compileRow(items)]));
const COMPILED_UNKNOWN = compileRow(UNKNOWN_EVENT_ITEMS);

export const mapSecurityEvent: FamilyMapper = (record, doc) => {
  const { eventId, recordId, data } = record.windows;
  const code = eventId === undefined ? undefined : String(eventId);
  const row = code === undefined ? undefined : SECURITY_EVENTS[code];
  const setters = (code === undefined ? undefined : COMPILED.get(code)) ?? COMPILED_UNKNOWN;
  if (data !== undefined) {
    for (const [name, set] of setters) {
      const value = data[name];
      if (value !== undefined) set(doc, value);
    }
  }
  const failure =
    data === undefined
      ? undefined
      : defined({
          reason: failureReasonText(data.FailureReason),
          status: logonStatusText(data.Status),
          sub_status: logonStatusText(data.SubStatus),
        });
  const winlog: TaniumWinlog = { channel: CHANNEL };
  if (code !== undefined) winlog.event_id = code;
  if (recordId !== undefined) winlog.record_id = recordId;
  if (data !== undefined && hasMembers(data)) winlog.event_data = data;
  const logon = defined({
    type: logonTypeName(data?.LogonType),
    // Status codes are read as logon failures only where the id is one.
    failure: row?.outcome === "failure" ? failure : undefined,
  });
  if (logon !== undefined) winlog.logon = logon;
  (doc.tanium ??= {}).winlog = winlog;

  const spec: EventSpec = {
    message: (row ?? UNKNOWN_ID).message,
    category: row?.category,
    type: row?.type,
    action: row?.action,
    outcome: row?.outcome,
    code,
    provider: row === undefined ? undefined : PROVIDER,
    // The most specific failure text: SubStatus refines Status, FailureReason summarizes both.
    reason:
      row?.outcome === "failure" ? (failure?.sub_status ?? failure?.status ?? failure?.reason) : undefined,
  };
  return spec;
};

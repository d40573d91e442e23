/**
 * @module tanium/recorder/security
 * Who is who in a Windows security-log event (the recorder's `security_event`, GCH-TH): for each
 * event id, which EventData item names the account that acted (the subject), the account acted
 * on (the target), the credentials assumed, the group, the process and its creator, and the
 * remote side, and how each value is read (windows.ts). Microsoft's per-event documentation
 * ("Audit logon", "Audit user account management", …) is the source of each table; a schema
 * mapper only decides where each role goes in its own fields.
 * @see https://learn.microsoft.com/en-us/previous-versions/windows/it-pro/windows-10/security/threat-protection/auditing/advanced-security-audit-policy-settings
 */

/** The part an EventData item plays, in schema-neutral names. */
export type SecurityRole =
  /** The account the event is about (the acting subject; for a logon the account logged on). */
  | "actor.name"
  | "actor.domain"
  | "actor.id"
  /** The account acted on (account management, a right assigned to it, a group member). */
  | "target.name"
  | "target.domain"
  | "target.id"
  /** The account whose credentials were used (4648, explicit credentials). */
  | "effective.name"
  | "effective.domain"
  /** The group of a group event. */
  | "group.name"
  | "group.domain"
  | "group.id"
  /** The process the event is about (the new process for 4688). */
  | "process.pid"
  | "process.executable"
  | "process.command_line"
  | "process.exit_code"
  /** The creator of the process (4688). */
  | "parent.pid"
  | "parent.executable"
  /** The remote side of a logon. */
  | "source.ip"
  | "source.port";

/**
 * How an item's text is read: `sid` drops the NULL SID, `pid` drops 0, `account` takes the
 * account name out of a distinguished name, `executable` is a path (windows.ts).
 */
export type SecurityValueKind = "text" | "sid" | "number" | "pid" | "ip" | "port" | "executable" | "account";

export interface SecurityItem {
  readonly role: SecurityRole;
  readonly kind: SecurityValueKind;
}

/** EventData item name → its role. */
export type SecurityItems = Readonly<Record<string, SecurityItem>>;

const item =
  (kind: SecurityValueKind) =>
  (role: SecurityRole): SecurityItem => ({ role, kind });
const text = item("text");
const sid = item("sid");
const num = item("number");
const pid = item("pid");
const exe = item("executable");

/** The account that did the thing: in every security event that has one. */
const SUBJECT: SecurityItems = {
  SubjectUserName: text("actor.name"),
  SubjectDomainName: text("actor.domain"),
  SubjectUserSid: sid("actor.id"),
};
/** Logon and logoff: the account that logged on is the event's actor (the subject is the service). */
const TARGET_AS_ACTOR: SecurityItems = {
  TargetUserName: text("actor.name"),
  TargetDomainName: text("actor.domain"),
  TargetUserSid: sid("actor.id"),
};
/** Account management: the account acted on. */
const TARGET_USER: SecurityItems = {
  TargetUserName: text("target.name"),
  TargetDomainName: text("target.domain"),
  TargetSid: sid("target.id"),
};
/** Group events name the group in the Target* items. */
const TARGET_GROUP: SecurityItems = {
  TargetUserName: text("group.name"),
  TargetDomainName: text("group.domain"),
  TargetSid: sid("group.id"),
};
/** The account added to or removed from a group; `MemberName` is a DN or `-`. */
const MEMBER: SecurityItems = {
  MemberName: { role: "target.name", kind: "account" },
  MemberSid: sid("target.id"),
};
const PROCESS: SecurityItems = { ProcessId: pid("process.pid"), ProcessName: exe("process.executable") };
const CALLER_PROCESS: SecurityItems = {
  CallerProcessId: pid("process.pid"),
  CallerProcessName: exe("process.executable"),
};
const SOURCE: SecurityItems = {
  IpAddress: { role: "source.ip", kind: "ip" },
  IpPort: { role: "source.port", kind: "port" },
};

const LOGON: SecurityItems = { ...TARGET_AS_ACTOR, ...PROCESS, ...SOURCE };
const USER_ACCOUNT: SecurityItems = { ...SUBJECT, ...TARGET_USER };
const GROUP_MEMBER: SecurityItems = { ...SUBJECT, ...MEMBER, ...TARGET_GROUP };
const PRIVILEGE: SecurityItems = { ...SUBJECT, ...PROCESS };
const RIGHT: SecurityItems = { ...SUBJECT, TargetSid: sid("target.id") };

/** By Windows event id (as text). */
export const SECURITY_ITEMS: Readonly<Record<string, SecurityItems>> = {
  "4624": LOGON,
  "4625": LOGON,
  "4634": TARGET_AS_ACTOR,
  "4647": TARGET_AS_ACTOR,
  // The subject used the credentials of another account: that account's privileges are assumed.
  "4648": {
    ...SUBJECT,
    TargetUserName: text("effective.name"),
    TargetDomainName: text("effective.domain"),
    ...PROCESS,
    ...SOURCE,
  },
  "4672": SUBJECT,
  "4673": PRIVILEGE,
  "4674": PRIVILEGE,
  // The creator is the parent: `ProcessId` and `ParentProcessName` (Windows 10+) describe it.
  "4688": {
    ...SUBJECT,
    NewProcessId: pid("process.pid"),
    NewProcessName: exe("process.executable"),
    CommandLine: text("process.command_line"),
    ProcessId: pid("parent.pid"),
    ParentProcessName: exe("parent.executable"),
  },
  "4689": { ...PRIVILEGE, Status: num("process.exit_code") },
  "4670": PRIVILEGE,
  "4698": SUBJECT,
  "4699": SUBJECT,
  "4700": SUBJECT,
  "4701": SUBJECT,
  "4702": SUBJECT,
  "4703": {
    ...PRIVILEGE,
    TargetUserName: text("target.name"),
    TargetDomainName: text("target.domain"),
    TargetUserSid: sid("target.id"),
  },
  "4704": RIGHT,
  "4705": RIGHT,
  "4720": USER_ACCOUNT,
  "4722": USER_ACCOUNT,
  "4723": USER_ACCOUNT,
  "4724": USER_ACCOUNT,
  "4725": USER_ACCOUNT,
  "4726": USER_ACCOUNT,
  "4738": USER_ACCOUNT,
  "4740": USER_ACCOUNT,
  "4767": USER_ACCOUNT,
  "4728": GROUP_MEMBER,
  "4732": GROUP_MEMBER,
  "4756": GROUP_MEMBER,
  "4729": GROUP_MEMBER,
  "4733": GROUP_MEMBER,
  "4757": GROUP_MEMBER,
  "4798": { ...SUBJECT, ...TARGET_USER, ...CALLER_PROCESS },
  "4799": { ...SUBJECT, ...TARGET_GROUP, ...CALLER_PROCESS },
};

/** An id not in the table: only what means the same in every event (the subject, the process). */
export const UNKNOWN_EVENT_ITEMS: SecurityItems = { ...SUBJECT, ...PROCESS };

/**
 * @module tanium/recorder/windows
 * Reading Windows security-log EventData values (the `event__<Name>` keys of the recorder's
 * security events, GCH-TH). EventData is text whatever it holds: `-` (or an empty string) stands
 * for "none", process ids are hexadecimal (`0x2d4`), status codes are NTSTATUS values and logon
 * types are ordinals. Schema-independent: an ECS or OCSF mapper reads values through these.
 * Unlike the typed `fields` readers, these never throw: a value that is not what the name
 * promises is simply not interpreted, and stays verbatim in the event data.
 * @see https://learn.microsoft.com/en-us/previous-versions/windows/it-pro/windows-10/security/threat-protection/auditing/event-4624
 */
import { isIP } from "node:net";

/** The value as text, or undefined for Windows' "none" placeholders (`-`, empty, blank). */
export function windowsText(value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  const text = value.trim();
  return text === "" || text === "-" ? undefined : text;
}

const HEX = /^0x[0-9a-f]{1,13}$/i;
const DECIMAL = /^\d{1,15}$/;

/** A process id, exit status or other number: hexadecimal (`0x2d4`) or decimal (`724`). */
export function windowsNumber(value: string | undefined): number | undefined {
  const text = windowsText(value);
  if (text === undefined) return undefined;
  if (HEX.test(text)) return Number.parseInt(text.slice(2), 16);
  if (DECIMAL.test(text)) return Number(text);
  return undefined;
}

/** A process id; `0x0` is what Windows writes when no process is involved (a network logon). */
export function windowsPid(value: string | undefined): number | undefined {
  const n = windowsNumber(value);
  return n === 0 ? undefined : n;
}

/** The SID Windows writes when there is no account (`NULL SID`). */
const NULL_SID = "S-1-0-0";

export function windowsSid(value: string | undefined): string | undefined {
  const text = windowsText(value);
  return text === NULL_SID ? undefined : text;
}

/** An address from `IpAddress`; local logons write `-` or `::1`/`127.0.0.1`, which are kept. */
export function windowsIp(value: string | undefined): string | undefined {
  const text = windowsText(value);
  return text !== undefined && isIP(text) !== 0 ? text : undefined;
}

/** A port from `IpPort`; `0` is what Windows writes when there was none. */
export function windowsPort(value: string | undefined): number | undefined {
  const n = windowsNumber(value);
  return n !== undefined && n > 0 && n <= 65535 ? n : undefined;
}

/**
 * The account name in a `MemberName` distinguished name (`CN=Doe\, John,OU=Staff,DC=corp,…`
 * → `Doe, John`); a value that is not a DN is returned as it is.
 */
export function accountFromDn(value: string | undefined): string | undefined {
  const text = windowsText(value);
  if (text === undefined) return undefined;
  const cn = /^CN=((?:\\.|[^,\\])+)/i.exec(text);
  return cn?.[1] === undefined ? text : cn[1].replace(/\\(.)/g, "$1");
}

/** `LogonType` ordinals, as Microsoft's 4624 documentation names them. */
export const LOGON_TYPES: Readonly<Record<string, string>> = {
  "0": "System",
  "2": "Interactive",
  "3": "Network",
  "4": "Batch",
  "5": "Service",
  "7": "Unlock",
  "8": "NetworkCleartext",
  "9": "NewCredentials",
  "10": "RemoteInteractive",
  "11": "CachedInteractive",
  "12": "CachedRemoteInteractive",
  "13": "CachedUnlock",
};

export function logonTypeName(value: string | undefined): string | undefined {
  const text = windowsText(value);
  return text === undefined || !Object.hasOwn(LOGON_TYPES, text) ? undefined : LOGON_TYPES[text];
}

/** `FailureReason` message ids of event 4625 (msobjs.dll strings, Microsoft's 4625 page). */
const FAILURE_REASONS: Readonly<Record<string, string>> = {
  "%%2304": "An error occurred during logon.",
  "%%2305": "The specified user account has expired.",
  "%%2306": "The NetLogon component is not active.",
  "%%2307": "Account locked out.",
  "%%2308": "The user has not been granted the requested logon type at this machine.",
  "%%2309": "The specified account's password has expired.",
  "%%2310": "Account currently disabled.",
  "%%2311": "Account logon time restriction violation.",
  "%%2312": "User not allowed to logon at this computer.",
  "%%2313": "Unknown user name or bad password.",
};

/** NTSTATUS codes of 4625's `Status`/`SubStatus` (Microsoft's 4625 page), upper-case hex. */
const LOGON_STATUS: Readonly<Record<string, string>> = {
  "0XC000005E": "There are currently no logon servers available to service the logon request.",
  "0XC0000064": "User logon with misspelled or bad user account.",
  "0XC000006A": "User logon with misspelled or bad password.",
  "0XC000006D": "Bad user name or authentication information.",
  "0XC000006E": "User account restriction prevented the logon.",
  "0XC000006F": "User logon outside authorized hours.",
  "0XC0000070": "User logon from unauthorized workstation.",
  "0XC0000071": "User logon with expired password.",
  "0XC0000072": "User logon to account disabled by administrator.",
  "0XC0000133": "Clocks between DC and other computer too far out of sync.",
  "0XC000015B": "The user has not been granted the requested logon type at this machine.",
  "0XC0000192": "An attempt was made to logon, but the Netlogon service was not started.",
  "0XC0000193": "User logon with expired account.",
  "0XC0000224": "User is required to change password at next logon.",
  "0XC0000234": "User logon with account locked.",
  "0XC0000413":
    "The machine is protected by an authentication firewall; the account may not authenticate to it.",
};

export function failureReasonText(value: string | undefined): string | undefined {
  const text = windowsText(value);
  return text === undefined || !Object.hasOwn(FAILURE_REASONS, text) ? undefined : FAILURE_REASONS[text];
}

export function logonStatusText(value: string | undefined): string | undefined {
  const text = windowsText(value)?.toUpperCase();
  return text === undefined || !Object.hasOwn(LOGON_STATUS, text) ? undefined : LOGON_STATUS[text];
}

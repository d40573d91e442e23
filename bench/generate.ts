/**
 * @module bench/generate
 * Deterministic generator of realistic Tanium recorder lines for the benchmark: the event mix of
 * a busy endpoint fleet (file and network events dominate), Windows and Linux, varied values.
 */

/** A small seeded PRNG (mulberry32): the same seed gives the same lines on any machine. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

type Random = () => number;

const pick = <T>(random: Random, items: readonly T[]): T => items[Math.floor(random() * items.length)] as T;
const int = (random: Random, lo: number, hi: number): number => lo + Math.floor(random() * (hi - lo + 1));

/** Event names with their share of the stream. */
const MIX: ReadonlyArray<readonly [string, number]> = [
  ["process_start", 12],
  ["file_open", 22],
  ["file_write", 10],
  ["file_create", 6],
  ["file_delete", 3],
  ["file_move", 2],
  ["file_permission_change", 1],
  ["network_connect", 14],
  ["network_accept", 5],
  ["network_disconnect", 12],
  ["dns_event", 9],
  ["registry_create", 1],
  ["registry_set", 3],
];
const TOTAL = MIX.reduce((sum, [, weight]) => sum + weight, 0);

const WIN_EXE = [
  "C:\\Windows\\System32\\svchost.exe",
  "C:\\Windows\\System32\\WindowsPowerShell\\v1.0\\powershell.exe",
  "C:\\Program Files\\Google\\Chrome\\Application\\chrome.exe",
  "C:\\Windows\\explorer.exe",
  "C:\\Program Files\\Microsoft Office\\root\\Office16\\WINWORD.EXE",
];
const LINUX_EXE = [
  "/usr/bin/curl",
  "/usr/sbin/sshd",
  "/usr/bin/python3.11",
  "/usr/sbin/cron",
  "/usr/bin/rrdcached",
];
const WIN_FILES = [
  "C:\\Users\\José\\Documents\\résumé.docx",
  "C:\\Windows\\Temp\\setup.log",
  "C:\\ProgramData\\app\\cache.db",
];
const LINUX_FILES = [
  "/var/log/syslog",
  "/etc/passwd",
  "/var/lib/rrdcached/db/pve2-vm/115",
  "/tmp/.x11/cache",
];
const HOSTS = [
  "web-07.prod.example.net",
  "wks-0042.corp.example.com",
  "db-02",
  "3141592653",
  "fs-01.corp.example.com",
];

function hex(random: Random, length: number): string {
  let out = "";
  while (out.length < length)
    out += Math.floor(random() * 0x100000000)
      .toString(16)
      .padStart(8, "0");
  return out.slice(0, length);
}

function signed64(random: Random): string {
  return `-${int(random, 1, 9)}${String(Math.floor(random() * 1e9)).padStart(9, "0")}${String(Math.floor(random() * 1e9)).padStart(9, "0")}`;
}

export function generateLine(random: Random, index: number): string {
  let roll = random() * TOTAL;
  let name = "file_open";
  for (const [candidate, weight] of MIX) {
    roll -= weight;
    if (roll < 0) {
      name = candidate;
      break;
    }
  }
  const windows = random() < 0.6;
  const exe = windows ? pick(random, WIN_EXE) : pick(random, LINUX_EXE);
  const hostname = pick(random, HOSTS);
  const seconds = index % 86400;
  const time = `2024-03-11T${String(Math.floor(seconds / 3600)).padStart(2, "0")}:${String(Math.floor(seconds / 60) % 60).padStart(2, "0")}:${String(seconds % 60).padStart(2, "0")}.${String(int(random, 0, 999999)).padStart(6, "0")}+00:00`;
  const actor: Record<string, unknown> = {
    tanium_process_id: signed64(random),
    process__pid: int(random, 4, 65000),
    process__file__full_path: exe,
    process__user__name: windows ? "SYSTEM" : "root",
    process__user__group: windows ? "NT AUTHORITY" : "root",
    process__login__user_id: windows ? int(random, 0, 2000) : 4294967295,
    process__login__user_name: random() < 0.5 ? null : "jürgen.müller",
  };
  let fields: Record<string, unknown>;
  if (name === "process_start") {
    fields = {
      file__md5: hex(random, 32),
      tanium_parent_process_id: signed64(random),
      create_time: time,
      parent__command_line: windows ? "C:\\Windows\\Explorer.EXE" : "/usr/sbin/cron -f",
      file__full_path: exe,
      tanium_process_id: signed64(random),
      pid: int(random, 4, 65000),
      login__user_name: null,
      command_line: `${exe} --id ${hex(random, 12)} --verbose`,
      login__user_id: windows ? 0 : 4294967295,
      parent__file__full_path: windows ? "C:\\Windows\\explorer.exe" : "/usr/sbin/cron",
      user__name: windows ? "SYSTEM" : "root",
      parent_pid: int(random, 1, 5000),
      user__group: windows ? "NT AUTHORITY" : "root",
    };
  } else if (name.startsWith("file_")) {
    const path = windows ? pick(random, WIN_FILES) : pick(random, LINUX_FILES);
    fields = { ...actor, full_path: path };
    if (name === "file_open") fields.read_flag = random() < 0.7;
    if (name === "file_move") fields.src_full_path = `${path}.tmp`;
    if (name === "file_permission_change") fields.permission = "0755";
  } else if (name.startsWith("network_")) {
    const v6 = random() < 0.15;
    fields = {
      ...actor,
      local_ip: v6 ? "2001:db8:10::17" : `192.0.2.${int(random, 1, 254)}`,
      local_port: int(random, 1024, 65535),
      remote_ip: v6 ? "2001:db8:ffff::50" : `198.51.100.${int(random, 1, 254)}`,
      remote_port: pick(random, [80, 443, 22, 53, 3389, 5432]),
    };
  } else if (name === "dns_event") {
    fields = {
      ...actor,
      query: `host${int(random, 1, 999)}.example.com`,
      response: `203.0.113.${int(random, 1, 254)}`,
    };
  } else {
    fields = {
      ...actor,
      key: "HKEY_LOCAL_MACHINE\\SOFTWARE\\Microsoft\\Windows\\CurrentVersion\\Run",
      value_name: `Updater${int(random, 1, 50)}`,
    };
  }
  return JSON.stringify({
    event: name,
    hostname,
    host: `10.20.${int(random, 0, 255)}.${int(random, 1, 254)}`,
    timestamp: time,
    tanium_computer_id: String(int(random, 1000000000, 4000000000)),
    fields,
  });
}

export function generateLines(count: number, seed = 42): string[] {
  const random = prng(seed);
  const lines: string[] = new Array<string>(count);
  for (let i = 0; i < count; i++) lines[i] = generateLine(random, i);
  return lines;
}

/** A process as Threat Response's `Match Details` describes it, with `depth` ancestors below it. */
function matchProcess(random: Random, windows: boolean, depth: number): Record<string, unknown> {
  const exe = windows ? pick(random, WIN_EXE) : pick(random, LINUX_EXE);
  const process: Record<string, unknown> = {
    pid: int(random, 4, 65000),
    args: `${exe} --task ${hex(random, 16)}`,
    file: { fullpath: exe, md5: hex(random, 32) },
    name: windows ? exe.slice(exe.lastIndexOf("\\") + 1) : exe,
    ppid: int(random, 1, 65000),
    user: windows ? "CONTOSO\\jürgen.müller" : "root\\root",
    start_time: `2024-03-11T0${int(random, 0, 9)}:${int(random, 10, 59)}:${int(random, 10, 59)}.000Z`,
    recorder_unique_id: signed64(random).slice(1),
  };
  if (depth > 0) process.parent = matchProcess(random, windows, depth - 1);
  return process;
}

/**
 * A Threat Response alert line (events.md §3): mostly "Match Alerts Raw" (B2) with a process
 * match several ancestors deep, some file and port matches, and the older B1 form whose details
 * travel base64-encoded in `Other Parameters`.
 */
export function generateAlertLine(random: Random, index: number): string {
  const windows = random() < 0.6;
  const hostname = pick(random, HOSTS);
  const seconds = index % 86400;
  const clock = `${String(Math.floor(seconds / 3600)).padStart(2, "0")}:${String(Math.floor(seconds / 60) % 60).padStart(2, "0")}:${String(seconds % 60).padStart(2, "0")}`;
  const time = `2024-03-11T${clock}.${String(int(random, 0, 999)).padStart(3, "0")}Z`;
  const kind = random();
  let match: Record<string, unknown>;
  if (kind < 0.6) {
    match = {
      type: "process",
      source: "recorder",
      properties: matchProcess(random, windows, int(random, 3, 12)),
    };
  } else if (kind < 0.85) {
    const path = windows ? pick(random, WIN_FILES) : pick(random, LINUX_FILES);
    match = {
      type: "file",
      source: "at_rest",
      properties: {
        md5: hex(random, 32),
        sha1: hex(random, 40),
        sha256: hex(random, 64),
        size: String(int(random, 1, 1e6)),
        fullpath: path,
      },
    };
  } else {
    match = {
      type: "port",
      source: "recorder",
      properties: {
        process: matchProcess(random, windows, 1),
        local_ip: `192.0.2.${int(random, 1, 254)}`,
        local_port: int(random, 1024, 65535),
        remote_ip: `198.51.100.${int(random, 1, 254)}`,
        remote_port: pick(random, [443, 4444, 8080]),
      },
    };
  }
  const intelId = int(random, 100, 999);
  const details = {
    match: { hash: signed64(random).slice(1), version: 1, ...match },
    finding: {
      whats: [{ source_name: match.source, intel_intra_ids: [{ id_v2: signed64(random).slice(1) }] }],
      domain: "threatresponse",
      hunt_id: `hunt:${int(random, 1000000, 1000999)}`,
      intel_id: `${intelId}:${int(random, 1, 9)}:${hex(random, 8)}-${hex(random, 4)}-${hex(random, 4)}-${hex(random, 4)}-${hex(random, 12)}`,
      first_seen: time,
      last_seen: time,
      threat_id: signed64(random).slice(1),
      finding_id: signed64(random).slice(1),
      source_name: match.source,
      system_info: windows
        ? { os: "Microsoft Windows 11 Enterprise", bits: 64, platform: "Windows", build_number: "22631" }
        : { os: '"Ubuntu 22.04.4 LTS"', bits: 64, platform: "Linux" },
    },
    intel_id: intelId,
    config_id: int(random, 1000000, 1000999),
    config_rev_id: int(random, 1, 9),
  };
  const guid = `00000000-0000-0000-${hex(random, 4)}-${hex(random, 12)}`;
  const ip = `10.20.${int(random, 0, 255)}.${int(random, 1, 254)}`;
  if (random() < 0.2) {
    const payload = Buffer.from(JSON.stringify(details)).toString("base64");
    return JSON.stringify({
      "Computer IP": ip,
      "Computer Name": hostname,
      "Event Id": guid,
      "Event Name": "detect.match",
      "Other Parameters": `name=Suspicious ${match.type} ${intelId}|source=Tanium Signals|type=tanium-signal 1.0|payload=${payload}`,
      Priority: pick(random, ["low", "medium", "high", "critical"]),
      Severity: "info",
      Timestamp: time,
      "User Domain": "",
      "User Id": "",
      "User Name": "",
    });
  }
  return JSON.stringify({
    "Alert Id": guid,
    Timestamp: time,
    "Computer Name": hostname,
    "Computer IP": ip,
    "Intel Id": intelId,
    "Intel Type": pick(random, ["openioc", "tanium-signal", "yara"]),
    "Intel Name": `Suspicious ${match.type} ${intelId}`,
    "Intel Labels": pick(random, ["", "Execution,Defense Evasion", "Persistence"]),
    "Match Details": details,
    "MITRE Techniques": pick(random, ["[]", '["T1059.001","T1027"]', '["T1053.005"]']),
    "Impact Score": random() < 0.3 ? "" : int(random, 1, 10),
    Link: `https://tanium.example.com/#/threatresponse/alerts?guid=${guid}`,
  });
}

/** The alert-heavy mix: three alerts for each recorder event. */
export function generateAlertHeavyLines(count: number, seed = 43): string[] {
  const random = prng(seed);
  const lines: string[] = new Array<string>(count);
  for (let i = 0; i < count; i++)
    lines[i] = random() < 0.75 ? generateAlertLine(random, i) : generateLine(random, i);
  return lines;
}

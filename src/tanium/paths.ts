/**
 * @module tanium/paths
 * Splitting endpoint paths: Tanium sends native separators, `\` on Windows and `/` elsewhere
 * (events.md §2.2), so the last of either is the split point.
 */

export interface PathParts {
  path: string;
  name: string;
  directory?: string;
  extension?: string;
}

export function lastSeparator(path: string): number {
  return Math.max(path.lastIndexOf("/"), path.lastIndexOf("\\"));
}

/** The last component of a path (`C:\Windows\System32\svchost.exe` → `svchost.exe`). */
export function basename(path: string): string {
  return path.slice(lastSeparator(path) + 1);
}

export function splitPath(path: string): PathParts {
  const at = lastSeparator(path);
  const name = path.slice(at + 1);
  const parts: PathParts = { path, name };
  if (at >= 0) {
    let directory = path.slice(0, at);
    // The root keeps its separator: `/etc` is in `/`, `C:\boot.ini` is in `C:\`.
    if (directory === "" || /^[A-Za-z]:$/.test(directory)) directory += path[at];
    parts.directory = directory;
  }
  const dot = name.lastIndexOf(".");
  // ECS file.extension: the part after the last dot, without it; `.bashrc` has none.
  if (dot > 0 && dot < name.length - 1) parts.extension = name.slice(dot + 1);
  return parts;
}

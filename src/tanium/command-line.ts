/**
 * @module tanium/command-line
 * Splitting a command line into its arguments the way the endpoint's platform does, for ECS
 * `process.args` ("Array of process arguments, starting with the absolute path to the
 * executable"). Tanium reports a process's command line as one string (events.md §2.2), so the
 * split has to be redone here: Windows programs receive one string and split it themselves (the
 * `CommandLineToArgvW` rules); a POSIX command line as Tanium reports it keeps the shell's quoting
 * (events.md sample 4: `python3 -c 'import os; print("…")'`), so it is split by the shell's word
 * rules, without any expansion.
 *
 * Both splitters are one left-to-right pass over the string with no regular expression, copy
 * literal runs with `slice`, and never throw; an empty line gives `[]` (a POSIX all-blank one
 * too; on Windows a leading blank is an empty program name, as CommandLineToArgvW gives).
 */

export type ArgvPlatform = "windows" | "posix";

const SPACE = 0x20;
const TAB = 0x09;
const NEWLINE = 0x0a;
const QUOTE = 0x22; // "
const APOSTROPHE = 0x27; // '
const BACKSLASH = 0x5c;
const DOLLAR = 0x24;
const BACKTICK = 0x60;

export function splitCommandLine(line: string, platform: ArgvPlatform): string[] {
  return platform === "windows" ? splitWindowsCommandLine(line) : splitPosixCommandLine(line);
}

/**
 * `CommandLineToArgvW`: arguments are separated by spaces and tabs outside quotes; 2n backslashes
 * before a quote give n backslashes and the quote opens or closes a quoted part; 2n+1 give n and a
 * literal quote; other backslashes are literal. Inside quotes, a doubled quote gives a literal
 * quote and ends the quoted part (the shell32 behaviour: `"a ""b"" c"` is `a "b` and `c`; the C
 * runtime since 2008 stays quoted instead). The program name follows a simpler rule: if it starts
 * with a quote it runs to the next quote, else to the first space or tab, backslashes always
 * literal. A line that starts with a blank has an empty program name, as on Windows.
 */
export function splitWindowsCommandLine(line: string): string[] {
  const n = line.length;
  if (n === 0) return [];
  const args: string[] = [];
  let i = 0;
  if (line.charCodeAt(0) === QUOTE) {
    const close = line.indexOf('"', 1);
    if (close < 0) {
      args.push(line.slice(1));
      return args;
    }
    args.push(line.slice(1, close));
    i = close + 1;
  } else {
    while (i < n) {
      const c = line.charCodeAt(i);
      if (c === SPACE || c === TAB) break;
      i++;
    }
    args.push(line.slice(0, i));
  }
  while (i < n && isWindowsBlank(line.charCodeAt(i))) i++;
  if (i >= n) return args;
  // Without a quote every backslash is literal, so blanks alone split: the common case
  // (`C:\Windows\system32\svchost.exe -k netsvcs`) takes this path.
  if (line.indexOf('"', i) < 0) {
    let start = i;
    for (; i < n; i++) {
      if (!isWindowsBlank(line.charCodeAt(i))) continue;
      if (i > start) args.push(line.slice(start, i));
      start = i + 1;
    }
    if (start < n) args.push(line.slice(start));
    return args;
  }
  let current = "";
  let run = i; // start of the literal characters not yet copied into `current`
  let quoted = 0; // shell32's quote count: 0 outside, 1 inside quotes
  let backslashes = 0; // backslashes just before i, already counted in [run, i)
  let pending = true; // a non-blank character began an argument not yet pushed
  while (i < n) {
    const c = line.charCodeAt(i);
    if ((c === SPACE || c === TAB) && quoted === 0) {
      args.push(current + line.slice(run, i));
      current = "";
      backslashes = 0;
      while (i < n && isWindowsBlank(line.charCodeAt(i))) i++;
      run = i;
      pending = i < n;
    } else if (c === BACKSLASH) {
      backslashes++;
      i++;
    } else if (c === QUOTE) {
      // The backslashes in front are halved; an odd one escapes this quote.
      current += line.slice(run, i - backslashes) + "\\".repeat(backslashes >> 1);
      if ((backslashes & 1) === 1) current += '"';
      else quoted++;
      backslashes = 0;
      i++;
      // A run of quotes: every third counted quote is a literal one (shell32's rule).
      while (i < n && line.charCodeAt(i) === QUOTE) {
        if (++quoted === 3) {
          current += '"';
          quoted = 0;
        }
        i++;
      }
      if (quoted === 2) quoted = 0;
      run = i;
    } else {
      backslashes = 0;
      i++;
    }
  }
  if (pending) args.push(current + line.slice(run));
  return args;
}

function isWindowsBlank(c: number): boolean {
  return c === SPACE || c === TAB;
}

/**
 * POSIX shell word splitting (XCU 2.2 Quoting, 2.3 Token Recognition) without expansion or
 * operators: a recorded argument vector holds no live `|`, `;` or `$`, so those stay literal.
 * Blanks (space, tab, newline) separate words outside quotes; `'…'` keeps everything literally;
 * `"…"` keeps everything except a backslash before `$`, `` ` ``, `"`, `\` or a newline (the
 * newline then vanishes); outside quotes a backslash makes the next character literal and
 * backslash-newline vanishes. An unclosed quote runs to the end, a final lone backslash stays.
 */
export function splitPosixCommandLine(line: string): string[] {
  const n = line.length;
  const args: string[] = [];
  let i = 0;
  while (i < n) {
    while (i < n && isPosixBlank(line.charCodeAt(i))) i++;
    if (i >= n) break;
    let word = "";
    let run = i;
    let inWord = false; // a quoted empty string ('' or "") is still a word
    while (i < n) {
      const c = line.charCodeAt(i);
      if (isPosixBlank(c)) break;
      if (c === APOSTROPHE) {
        word += line.slice(run, i);
        const close = line.indexOf("'", i + 1);
        const end = close < 0 ? n : close;
        word += line.slice(i + 1, end);
        i = close < 0 ? n : close + 1;
        run = i;
        inWord = true;
      } else if (c === QUOTE) {
        word += line.slice(run, i);
        i++;
        run = i;
        while (i < n) {
          const d = line.charCodeAt(i);
          if (d === QUOTE) break;
          if (d === BACKSLASH && i + 1 < n) {
            const e = line.charCodeAt(i + 1);
            if (e === DOLLAR || e === BACKTICK || e === QUOTE || e === BACKSLASH) {
              word += line.slice(run, i);
              run = i + 1;
              i += 2;
              continue;
            }
            if (e === NEWLINE) {
              word += line.slice(run, i);
              i += 2;
              run = i;
              continue;
            }
          }
          i++;
        }
        word += line.slice(run, i);
        if (i < n) i++; // the closing quote
        run = i;
        inWord = true;
      } else if (c === BACKSLASH) {
        if (i + 1 >= n) {
          i++;
          break;
        }
        word += line.slice(run, i);
        if (line.charCodeAt(i + 1) === NEWLINE) {
          // Line continuation: both characters vanish.
          i += 2;
          run = i;
        } else {
          run = i + 1;
          i += 2;
        }
      } else {
        i++;
      }
    }
    word += line.slice(run, i);
    if (word !== "" || inWord) args.push(word);
  }
  return args;
}

function isPosixBlank(c: number): boolean {
  return c === SPACE || c === TAB || c === NEWLINE;
}

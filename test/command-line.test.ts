/**
 * @module test/command-line
 * The argument splitter against the platforms' own rules: Microsoft's documented
 * CommandLineToArgvW examples and the shell's quoting examples as tables, and with fast-check,
 * any argument list quoted the way each platform quotes comes back whole, and no string throws.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import {
  splitCommandLine,
  splitPosixCommandLine,
  splitWindowsCommandLine,
} from "../src/tanium/command-line.ts";
import {
  argvPlatform,
  commandLineArgs,
  isWindowsCommandLine,
  isWindowsPath,
  MAX_ARGS,
} from "../src/tanium/platform.ts";

/** Quoting for CommandLineToArgvW ("Everyone quotes command line arguments the wrong way"). */
function quoteWindowsArg(arg: string, always: boolean): string {
  if (!always && arg !== "" && !/[ \t\n\v"]/.test(arg)) return arg;
  let out = '"';
  let backslashes = 0;
  for (const ch of arg) {
    if (ch === "\\") {
      backslashes++;
      continue;
    }
    // Backslashes before a quote are doubled and the quote escaped; elsewhere they are literal.
    out += ch === '"' ? "\\".repeat(backslashes * 2 + 1) + '"' : "\\".repeat(backslashes) + ch;
    backslashes = 0;
  }
  // Trailing backslashes precede the closing quote, so they are doubled.
  return out + "\\".repeat(backslashes * 2) + '"';
}

/** The program name cannot hold a quote; it is quoted when it holds a blank or is empty. */
function joinWindows(argv: readonly string[], quoteAll: boolean): string {
  const [program, ...rest] = argv;
  if (program === undefined) return "";
  const head = quoteAll || program === "" || /[ \t]/.test(program) ? `"${program}"` : program;
  return [head, ...rest.map((arg) => quoteWindowsArg(arg, quoteAll))].join(" ");
}

type PosixStyle = "single" | "double" | "backslash" | "bare";

function quotePosixArg(arg: string, style: PosixStyle): string {
  if (style === "bare" && arg !== "" && /^[A-Za-z0-9_./=:,@%+-]+$/.test(arg)) return arg;
  if (style === "double") return `"${arg.replace(/[$`"\\]/g, "\\$&")}"`;
  if (style === "backslash" && arg !== "") {
    // A backslash-newline is a line continuation, so a newline is quoted instead.
    return [...arg].map((ch) => (ch === "\n" ? "'\n'" : `\\${ch}`)).join("");
  }
  return `'${arg.replaceAll("'", `'\\''`)}'`;
}

// Characters that exercise every rule, mixed with any other text.
const tricky = fc.constantFrom(" ", "\t", "\n", '"', "'", "\\", "$", "`", "a", "é", "😀");
const argText = fc.oneof(fc.string(), fc.string({ unit: tricky }), fc.string({ unit: "binary" }));
const programText = fc
  .oneof(fc.string({ unit: fc.constantFrom(" ", "\t", "\\", "a", ":", ".") }), fc.string())
  .map((s) => s.replaceAll('"', ""));

describe("splitWindowsCommandLine", () => {
  // Microsoft's CommandLineToArgvW documentation, "Remarks" table (argv[1..3] after a program).
  const documented: [string, string[]][] = [
    ['"abc" d e', ["abc", "d", "e"]],
    ['a\\\\b d"e f"g h', ["a\\\\b", "de fg", "h"]],
    ['a\\\\\\"b c d', ['a\\"b', "c", "d"]],
    ['a\\\\\\\\"b c" d e', ["a\\\\b c", "d", "e"]],
  ];
  for (const [args, expected] of documented) {
    it(`splits the documented example ${args}`, () => {
      assert.deepEqual(splitWindowsCommandLine(`prog.exe ${args}`), ["prog.exe", ...expected]);
    });
  }

  it("gives a doubled quote inside quotes as a literal quote that ends the quoted part", () => {
    // shell32 (unlike the C runtime since 2008): "a ""b"" c" is `a "b` and `c`.
    assert.deepEqual(splitWindowsCommandLine('x.exe "a ""b"" c"'), ["x.exe", 'a "b', "c"]);
    assert.deepEqual(splitWindowsCommandLine('x.exe """"'), ["x.exe", '"']);
  });

  it("reads the program name by the simpler rule: to the next quote or blank, backslashes literal", () => {
    assert.deepEqual(splitWindowsCommandLine('"C:\\Program Files\\App\\app.exe" --flag "two words"'), [
      "C:\\Program Files\\App\\app.exe",
      "--flag",
      "two words",
    ]);
    assert.deepEqual(splitWindowsCommandLine('"C:\\dir\\"x y'), ["C:\\dir\\", "x", "y"]);
    assert.deepEqual(splitWindowsCommandLine('C:\\a\\"b.exe x'), ['C:\\a\\"b.exe', "x"]);
    assert.deepEqual(splitWindowsCommandLine('"C:\\unclosed name'), ["C:\\unclosed name"]);
  });

  it("keeps backslashes in paths and splits only on spaces and tabs", () => {
    assert.deepEqual(splitWindowsCommandLine("C:\\Windows\\system32\\svchost.exe -k  netsvcs\t-p "), [
      "C:\\Windows\\system32\\svchost.exe",
      "-k",
      "netsvcs",
      "-p",
    ]);
    assert.deepEqual(splitWindowsCommandLine('cmd.exe /c "" x'), ["cmd.exe", "/c", "", "x"]);
    assert.deepEqual(splitWindowsCommandLine(" lead"), ["", "lead"]);
    assert.deepEqual(splitWindowsCommandLine(""), []);
  });

  it("gives back any argument list quoted the CommandLineToArgvW way", () => {
    fc.assert(
      fc.property(programText, fc.array(argText, { maxLength: 8 }), fc.boolean(), (p, rest, all) => {
        const argv = [p, ...rest];
        assert.deepEqual(splitWindowsCommandLine(joinWindows(argv, all)), argv);
      }),
      { numRuns: 2000 },
    );
  });
});

describe("splitPosixCommandLine", () => {
  const table: [string, string[]][] = [
    ["/usr/bin/python3 -c 'print(\"hi\")'", ["/usr/bin/python3", "-c", 'print("hi")']],
    ['sh -c "echo \\$HOME \\`id\\` \\"q\\" \\\\ \\n"', ["sh", "-c", 'echo $HOME `id` "q" \\ \\n']],
    ["a\\ b c\\\\d 'it'\\''s' \"\" ''", ["a b", "c\\d", "it's", "", ""]],
    ["echo $HOME *.txt a|b;c", ["echo", "$HOME", "*.txt", "a|b;c"]],
    ['x "line\\\ncontinued" y\\\nz', ["x", "linecontinued", "yz"]],
    ["  spaced\t\targs\n", ["spaced", "args"]],
    ["unclosed 'quote here", ["unclosed", "quote here"]],
    ['unclosed "double', ["unclosed", "double"]],
    ["trailing\\", ["trailing\\"]],
    ["", []],
  ];
  for (const [line, expected] of table) {
    it(`splits ${JSON.stringify(line)}`, () => {
      assert.deepEqual(splitPosixCommandLine(line), expected);
    });
  }

  it("gives back any argument list quoted by the shell's rules", () => {
    const style = fc.constantFrom<PosixStyle>("single", "double", "backslash", "bare");
    fc.assert(
      fc.property(fc.array(fc.tuple(argText, style), { maxLength: 8 }), (pairs) => {
        const line = pairs.map(([arg, s]) => quotePosixArg(arg, s)).join(" ");
        assert.deepEqual(
          splitPosixCommandLine(line),
          pairs.map(([arg]) => arg),
        );
      }),
      { numRuns: 2000 },
    );
  });
});

describe("splitCommandLine", () => {
  it("never throws on any string, and a blank line gives at most an empty program name", () => {
    fc.assert(
      fc.property(argText, fc.constantFrom("windows", "posix" as const), (line, platform) => {
        const args = splitCommandLine(line, platform);
        assert.ok(Array.isArray(args));
        // Windows separates on spaces and tabs only, and a leading blank is an empty program name.
        if (platform === "windows" && /^[ \t]+$/.test(line)) assert.deepEqual(args, [""]);
        if (platform === "posix" && /^[ \t\n]*$/.test(line)) assert.deepEqual(args, []);
      }),
      { numRuns: 3000 },
    );
  });

  it("splits a long line in linear time", () => {
    const line = `C:\\x.exe ${'"a\\\\\\" b" '.repeat(100_000)}`;
    const started = performance.now();
    assert.equal(splitWindowsCommandLine(line).length, 100_001);
    assert.equal(splitPosixCommandLine(`'a' "b" c\\d `.repeat(100_000)).length, 300_000);
    assert.ok(performance.now() - started < 5000);
  });
});

describe("commandLineArgs (which rules apply)", () => {
  it("tells Windows only from what Windows alone writes, never Linux from a / path", () => {
    assert.equal(isWindowsPath("C:\\Windows\\explorer.exe"), true);
    assert.equal(isWindowsPath("d:/tools/x.exe"), true);
    assert.equal(isWindowsPath("\\\\server\\share\\x.exe"), true);
    assert.equal(isWindowsPath("\\Device\\HarddiskVolume3\\x.exe"), true);
    assert.equal(isWindowsPath("/usr/bin/bash"), false);
    assert.equal(isWindowsPath("C:"), false);
    assert.equal(isWindowsCommandLine('"C:\\Program Files\\a.exe" -x'), true);
    assert.equal(isWindowsCommandLine("\\ls -la"), false);
    assert.equal(argvPlatform("macos"), "posix");
    assert.equal(argvPlatform(undefined), undefined);
  });

  it("splits by the family, else by the executable, else only when both rules agree", () => {
    const quoted = 'tool "a b" c\\d';
    assert.deepEqual(commandLineArgs(quoted, "windows", undefined), ["tool", "a b", "c\\d"]);
    assert.deepEqual(commandLineArgs(quoted, "linux", undefined), ["tool", "a b", "cd"]);
    assert.deepEqual(commandLineArgs(quoted, undefined, "/opt/tool"), ["tool", "a b", "cd"]);
    assert.deepEqual(commandLineArgs(quoted, undefined, "C:\\tool.exe"), ["tool", "a b", "c\\d"]);
    assert.equal(commandLineArgs(quoted, undefined, undefined), undefined);
    assert.equal(commandLineArgs(quoted, undefined, "tool"), undefined);
    assert.deepEqual(commandLineArgs("tool -v 3", undefined, undefined), ["tool", "-v", "3"]);
  });

  it("gives no arguments past what a Windows command line can hold", () => {
    const many = `x${" a".repeat(MAX_ARGS)}`;
    assert.equal(commandLineArgs(many, "linux", undefined), undefined);
    assert.equal(commandLineArgs(many.slice(0, -2), "linux", undefined)?.length, MAX_ARGS);
  });
});

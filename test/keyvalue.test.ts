/**
 * @module test/keyvalue
 * Connect's syslog key=value text (events.md §4, EXA-IM): pairs rendered with random quoting,
 * escaping and blanks around `=` parse back to the same map; `__proto__` never reaches a
 * prototype; and an Integrity Monitor row reads the same from its key=value and JSON forms.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { parseKeyValue, quoteValue } from "../src/decoding/keyvalue.ts";
import { normalize } from "../src/normalize.ts";

const RECEIVED_AT = "2026-01-01T00:00:00.000Z";

/** A key as Connect writes them: no blank, `=` or `"` (`Computer-Name`, `File-Path`). */
const key = fc.string({ minLength: 1, maxLength: 16 }).filter((k) => !/[\s="]/.test(k) && k !== "__proto__");
const value = fc.oneof(
  fc.string({ maxLength: 30 }),
  fc.constantFrom("C:\\Windows\\System32\\cmd.exe", 'say "hi"', "a\\", "\\\\server\\share", "x = y", ""),
);
const blanks = fc.constantFrom("", " ", "  ");
/** A word that is not a pair (`Tanium`, `…`). */
const word = fc.string({ minLength: 1, maxLength: 8 }).filter((w) => !/[\s="]/.test(w));

/** One value as text: bare when it can be, else quoted with escapes. */
function render(v: string, bare: boolean): string {
  return bare && v !== "" && !/[\s"]/.test(v) && !v.startsWith('"') ? v : quoteValue(v);
}

describe("parseKeyValue", () => {
  it("reads back pairs rendered with random quoting, escaping and blanks around `=`", () => {
    fc.assert(
      fc.property(
        fc.uniqueArray(fc.tuple(key, value), { selector: ([k]) => k, minLength: 1, maxLength: 8 }),
        fc.array(fc.tuple(fc.boolean(), blanks, blanks, fc.option(word, { nil: undefined })), {
          minLength: 8,
          maxLength: 8,
        }),
        (pairs, styles) => {
          const text = pairs
            .map(([k, v], i) => {
              const [bare, before, after, noise] = styles[i] ?? [false, "", "", undefined];
              return `${noise === undefined ? "" : `${noise} `}${k}${before}=${after}${render(v, bare)}`;
            })
            .join(" ");
          const parsed = parseKeyValue(text);
          assert.ok(parsed !== undefined, text);
          assert.deepEqual({ ...parsed.pairs }, Object.fromEntries(pairs), text);
          assert.equal(parsed.count, pairs.length);
        },
      ),
      { numRuns: 1000 },
    );
  });

  it("keeps backslashes that escape nothing, as unescaped Windows paths need", () => {
    const parsed = parseKeyValue('File-Path="C:\\Users\\x\\{GUID}\\a.txt" User=CONTOSO\\svc');
    assert.deepEqual(
      { ...parsed?.pairs },
      { "File-Path": "C:\\Users\\x\\{GUID}\\a.txt", User: "CONTOSO\\svc" },
    );
  });

  it("never lets `__proto__` reach a prototype, and counts it", () => {
    const parsed = parseKeyValue('__proto__="polluted" constructor="c" a=1 __proto__ =x');
    assert.ok(parsed !== undefined);
    assert.equal(Object.getPrototypeOf(parsed.pairs), null);
    assert.equal(Object.hasOwn(parsed.pairs, "__proto__"), false);
    assert.equal(parsed.unsafeKeys, 2);
    assert.deepEqual({ ...parsed.pairs }, { constructor: "c", a: "1" });
    assert.equal(({} as Record<string, unknown>).polluted, undefined);
  });

  it("caps the number of pairs and the key length", () => {
    const many = Array.from({ length: 300 }, (_, i) => `k${i}=${i}`).join(" ");
    assert.equal(parseKeyValue(many)?.count, 256);
    assert.equal(parseKeyValue(`${"k".repeat(200)}=v`), undefined);
  });

  it("finds nothing in text without pairs, and never throws on random text", () => {
    assert.equal(parseKeyValue("integrity monitor heartbeat"), undefined);
    fc.assert(
      fc.property(fc.string({ maxLength: 200 }), (text) => {
        const parsed = parseKeyValue(text);
        if (parsed !== undefined) assert.ok(parsed.firstAt >= 0 && parsed.firstAt < text.length);
      }),
      { numRuns: 2000 },
    );
  });
});

describe("an Integrity Monitor row in both forms", () => {
  const row = fc.record({
    "Computer Name": fc.constantFrom("fs-01.corp.example.com", "db-02", "wks 0042"),
    "File Path": fc.constantFrom(
      "C:\\inetpub\\wwwroot\\web.config",
      "/etc/shadow",
      'C:\\a "quoted" name.txt',
    ),
    "Process Path": fc.constantFrom("C:\\Windows\\System32\\cmd.exe", "/usr/bin/chmod"),
    User: fc.constantFrom("CONTOSO\\svc_backup", "root"),
    "Change Type": fc.constantFrom("Write", "CreateNewFile", "DeletePath", "RenamePath", "Truncate"),
    Hash: fc.constantFrom("5d41402abc4b2a76b9719d911017c592", "N/A", ""),
  });

  it("gives the same ECS fields from JSON columns and from syslog key=value pairs", () => {
    fc.assert(
      fc.property(row, fc.boolean(), (columns, spaced) => {
        const json = normalize(JSON.stringify(columns), { receivedAt: RECEIVED_AT });
        const pairs = Object.entries(columns)
          .map(([k, v]) => `${k.replaceAll(" ", "-")}${spaced ? " " : ""}=${quoteValue(v)}`)
          .join(" ");
        const kv = normalize(`<14>Mar 11 09:22:40 tanium-srv-01 Tanium: ${pairs}`, {
          receivedAt: RECEIVED_AT,
        });
        assert.ok(json.ok && kv.ok);
        const { file, process, user, host, related } = json.doc;
        assert.deepEqual(
          {
            file: kv.doc.file,
            process: kv.doc.process,
            user: kv.doc.user,
            host: kv.doc.host,
            related: kv.doc.related,
          },
          { file, process, user, host, related },
        );
        assert.deepEqual(kv.doc.event.type, json.doc.event.type);
        assert.equal(kv.doc.event.action, json.doc.event.action);
        assert.equal(kv.doc.event.dataset, "tanium.integrity_monitor");
        assert.equal(kv.doc.log?.syslog?.hostname, "tanium-srv-01");
      }),
      { numRuns: 200 },
    );
  });
});

/**
 * @module test/syslog
 * The syslog header parser (RFC 5424, RFC 3164 and the ISO-time form of EXA-IM) and its use by
 * the decoder: headers built from random valid parts parse back to those parts, random text never
 * throws, and the JSON payload is found after the header even when the structured data holds `{`.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { decodeLine } from "../src/decoding/envelope.ts";
import { parseSyslog, type SyslogHeader } from "../src/decoding/syslog.ts";
import { normalize } from "../src/normalize.ts";

const RECEIVED_AT = "2026-01-01T00:00:00.000Z";
const RECORDER = '{"event":"file_open","hostname":"h1","fields":{"full_path":"/etc/passwd"}}';

/** PRINTUSASCII tokens (RFC 5424 §6): `!`…`~`, never the nil value `-` alone. */
const token = (max: number) =>
  fc
    .string({
      unit: fc.integer({ min: 33, max: 126 }).map((c) => String.fromCharCode(c)),
      minLength: 1,
      maxLength: max,
    })
    .filter((t) => t !== "-");
const nilOr = <T>(arb: fc.Arbitrary<T>) => fc.option(arb, { nil: undefined });

const isoTime = fc
  .date({ min: new Date("1971-01-01T00:00:00Z"), max: new Date("2099-12-31T23:59:59Z"), noInvalidDate: true })
  .chain((d) =>
    fc.constantFrom(
      d.toISOString(),
      d.toISOString().replace(".", ",").replace(/,\d+/, ""),
      `${d.toISOString().slice(0, 19)}+02:00`,
      `${d.toISOString().slice(0, 23)}123-05:30`,
    ),
  )
  .filter((t) => /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/.test(t));

/** An SD-NAME: printable ASCII but `=`, space, `]`, `"`. */
const sdName = fc.string({
  unit: fc
    .integer({ min: 33, max: 126 })
    .filter((c) => c !== 61 && c !== 93 && c !== 34)
    .map((c) => String.fromCharCode(c)),
  minLength: 1,
  maxLength: 12,
});
const sdValue = fc.string({ maxLength: 20 });
const escapeSd = (v: string) => v.replace(/["\\\]]/g, (c) => `\\${c}`);
const structuredData = fc
  .array(fc.tuple(sdName, fc.array(fc.tuple(sdName, sdValue), { maxLength: 3 })), {
    minLength: 1,
    maxLength: 3,
  })
  .map((elements) =>
    elements
      .map(([id, params]) => `[${id}${params.map(([k, v]) => ` ${k}="${escapeSd(v)}"`).join("")}]`)
      .join(""),
  );
/** A message: anything but a leading BOM (RFC 5424 strips one). */
const message = fc.string({ maxLength: 60 }).filter((m) => !m.startsWith("\uFEFF"));

describe("parseSyslog: RFC 5424", () => {
  it("reads back every part of a header built from random valid parts", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 191 }),
        fc.integer({ min: 1, max: 99 }),
        nilOr(isoTime),
        nilOr(token(255)),
        nilOr(token(48)),
        nilOr(token(128)),
        nilOr(token(32)),
        nilOr(structuredData),
        nilOr(message),
        (pri, version, timestamp, hostname, appname, procid, msgid, sd, msg) => {
          const parts = [timestamp, hostname, appname, procid, msgid, sd].map((p) => p ?? "-");
          const line = `<${pri}>${version} ${parts.join(" ")}${msg === undefined ? "" : ` ${msg}`}`;
          const expected: SyslogHeader = {
            priority: pri,
            facility: Math.floor(pri / 8),
            severity: pri % 8,
            version,
            message: msg ?? "",
          };
          if (timestamp !== undefined) expected.timestamp = timestamp;
          if (hostname !== undefined) expected.hostname = hostname;
          if (appname !== undefined) expected.appname = appname;
          if (procid !== undefined) expected.procid = procid;
          if (msgid !== undefined) expected.msgid = msgid;
          if (sd !== undefined) expected.structuredData = sd;
          assert.deepEqual(parseSyslog(line), expected);
        },
      ),
      { numRuns: 500 },
    );
  });

  it("strips the byte order mark RFC 5424 allows before a UTF-8 message", () => {
    assert.equal(parseSyslog("<14>1 - - - - - - \uFEFF{}")?.message, "{}");
  });
});

const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
const bsdTime = fc
  .tuple(fc.integer({ min: 0, max: 11 }), fc.integer({ min: 1, max: 31 }), fc.integer({ min: 0, max: 86399 }))
  .map(([m, d, s]) => {
    const hms = [Math.floor(s / 3600), Math.floor(s / 60) % 60, s % 60].map((n) =>
      String(n).padStart(2, "0"),
    );
    return `${MONTHS[m]} ${String(d).padStart(2, " ")} ${hms.join(":")}`;
  });
const hostToken = token(64).filter((h) => !/^[{[]/.test(h) && !/[="]/.test(h));
const tag = fc.stringMatching(/^[A-Za-z0-9_.\-/]{1,32}$/);
const pid = fc.stringMatching(/^[0-9a-z]{1,8}$/);

describe("parseSyslog: RFC 3164 and the ISO-time form", () => {
  it("reads back priority, time, host, tag, pid and message", () => {
    fc.assert(
      fc.property(
        nilOr(fc.integer({ min: 0, max: 191 })),
        fc.oneof(bsdTime, isoTime),
        hostToken,
        tag,
        nilOr(pid),
        fc.boolean(),
        message.filter((m) => !/^ *=/.test(m)),
        (pri, time, host, app, procid, colon, msg) => {
          const tagText = `${app}${procid === undefined ? "" : `[${procid}]`}${colon ? ":" : ""}`;
          const line = `${pri === undefined ? "" : `<${pri}>`}${time} ${host} ${tagText} ${msg}`;
          const expected: SyslogHeader = { timestamp: time, hostname: host, appname: app, message: msg };
          if (pri !== undefined)
            Object.assign(expected, { priority: pri, facility: pri >> 3, severity: pri & 7 });
          if (procid !== undefined) expected.procid = procid;
          assert.deepEqual(parseSyslog(line), expected);
        },
      ),
      { numRuns: 500 },
    );
  });

  it("does not take the first key of key=value pairs for a tag, blank before `=` or not", () => {
    const header = parseSyslog('2024-03-11T09:22:32.001+00:00 srv Computer-Name ="fs-01" Change-Type=Write');
    assert.equal(header?.hostname, "srv");
    assert.equal(header?.appname, undefined);
    assert.equal(header?.message, 'Computer-Name ="fs-01" Change-Type=Write');
  });

  it("keeps a bare <PRI> header whose rest is no known form", () => {
    assert.deepEqual(parseSyslog("<165>garbage {x}"), {
      priority: 165,
      facility: 20,
      severity: 5,
      message: "garbage {x}",
    });
  });

  it("finds no header in JSON, plain text, or a bad priority", () => {
    for (const line of ['{"event":"x"}', "hello world", "<192>1 - - - - - -", "<1x>foo", "<>", ""]) {
      assert.equal(parseSyslog(line), undefined, line);
    }
  });
});

describe("parseSyslog on hostile input", () => {
  it("never throws on random text, and the message is always a suffix of the line", () => {
    const syslogish = fc.oneof(
      fc.string({ maxLength: 200 }),
      fc.string({ unit: "binary", maxLength: 200 }),
      fc
        .tuple(
          fc.constantFrom("<14>1 ", "<13>", "<0>Mar  1 00:00:00 ", "2024-01-01T00:00:00Z "),
          fc.string({ maxLength: 200 }),
        )
        .map(([a, b]) => a + b),
      fc
        .array(fc.constantFrom("[", "]", '"', "\\", "=", " ", "-", "a", "{", "<1>", "1 "), { maxLength: 80 })
        .map((parts) => `<14>1 - h a p m ${parts.join("")}`),
    );
    fc.assert(
      fc.property(syslogish, (line) => {
        const header = parseSyslog(line);
        if (header !== undefined) assert.ok(line.endsWith(header.message));
      }),
      { numRuns: 2000 },
    );
  });

  it("decodeLine never throws on random text behind a header", () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 200 }), (tail) => {
        const result = decodeLine(`<14>1 2024-03-11T09:15:42.500Z h a - - - ${tail}`, 1 << 20);
        assert.equal(typeof result.ok, "boolean");
      }),
      { numRuns: 1000 },
    );
  });
});

describe("decoding a payload behind a header", () => {
  it('takes the JSON after RFC 5424 structured data that holds `{`, `\\]` and `\\"`', () => {
    const sd = '[origin software="Tanium {Connect}"][meta note="a \\] b \\"{\\" c"]';
    const line = `<14>1 2024-03-11T09:15:42.500Z tanium-srv-01 Tanium 42 rec ${sd} ${RECORDER}`;
    const decoded = decodeLine(line, 1 << 20);
    assert.ok(decoded.ok, decoded.ok ? "" : decoded.error.message);
    assert.equal(decoded.text, RECORDER);
    assert.equal(decoded.syslog?.structuredData, sd);
    assert.equal(decoded.prefix, `<14>1 2024-03-11T09:15:42.500Z tanium-srv-01 Tanium 42 rec ${sd}`);
  });

  it("gives the same event.id with or without the header, and maps the header to log.syslog", () => {
    const bare = normalize(RECORDER, { receivedAt: RECEIVED_AT });
    const wrapped = normalize(`<165>1 2024-03-11T09:15:42.500Z srv app 9 id [a b="{"] ${RECORDER}`, {
      receivedAt: RECEIVED_AT,
    });
    assert.ok(bare.ok && wrapped.ok);
    assert.equal(wrapped.doc.event.id, bare.doc.event.id);
    // Through JSON, as a sink writes it (the structured data maps have no prototype).
    assert.deepEqual(JSON.parse(JSON.stringify(wrapped.doc.log?.syslog)), {
      priority: 165,
      facility: { code: 20 },
      severity: { code: 5 },
      version: "1",
      hostname: "srv",
      appname: "app",
      procid: "9",
      msgid: "id",
      structured_data: { a: { b: "{" } },
    });
    assert.equal(bare.doc.log, undefined);
  });

  it("still takes JSON from the first `{` after text that is no syslog header", () => {
    const decoded = decodeLine(`some relay said: ${RECORDER}`, 1 << 20);
    assert.ok(decoded.ok);
    assert.equal(decoded.prefix, "some relay said:");
    assert.equal(decoded.syslog, undefined);
  });
});

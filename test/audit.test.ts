/**
 * @module test/audit
 * Threat Response audit rows (events.md §3.4) as the store sees them: `event.id` is unique per
 * row and stable per row, whatever the key order, spacing or transport header.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { normalize } from "../src/normalize.ts";

const RECEIVED_AT = "2026-01-01T00:00:00.000Z";

const row = fc.record({
  id: fc.integer({ min: 1, max: 1_000_000 }),
  table: fc.constantFrom("LiveConnection", "TraceConnections", "Intel"),
  rowId: fc.option(fc.integer({ min: 1, max: 1000 }), { nil: null }),
  revision: fc.option(fc.integer({ min: 1, max: 50 }), { nil: null }),
  state: fc
    .record({
      target: fc.record({ hostname: fc.constantFrom("wks-1", "wks-2"), eid: fc.constantFrom("1", "2") }),
    })
    .map((s) => JSON.stringify(s)),
  userId: fc.integer({ min: 1, max: 20 }),
  userName: fc.constantFrom("tanium", "jdoe"),
  action: fc.constantFrom("create", "update", "delete"),
  createdAt: fc.constantFrom("2024-03-11T10:05:16.002Z", "2024-03-11T10:05:17.000Z"),
  updatedAt: fc.constantFrom("2024-03-11T10:05:16.002Z", "2024-03-12T00:00:00.000Z"),
});

function idOf(line: string): string | undefined {
  const result = normalize(line, { receivedAt: RECEIVED_AT });
  assert.ok(result.ok, result.ok ? "" : result.error.message);
  assert.equal(result.doc.event.dataset, "tanium.threat_response_audit");
  return result.doc.event.id;
}

describe("audit row event.id", () => {
  it("is the same for the same row, in any key order, spacing, or behind a syslog header", () => {
    fc.assert(
      fc.property(row, (r) => {
        const compact = JSON.stringify(r);
        const reordered = JSON.stringify(Object.fromEntries(Object.entries(r).reverse()), null, 1);
        const wrapped = `<14>1 2024-03-11T10:05:16.500Z tanium-srv-01 Tanium - - - ${compact}`;
        const id = idOf(compact);
        assert.match(id ?? "", /^[0-9a-f]{32}$/);
        assert.equal(idOf(reordered), id);
        assert.equal(idOf(wrapped), id);
      }),
      { numRuns: 200 },
    );
  });

  it("differs between two different rows", () => {
    fc.assert(
      fc.property(row, row, (a, b) => {
        fc.pre(JSON.stringify(a) !== JSON.stringify(b));
        assert.notEqual(idOf(JSON.stringify(a)), idOf(JSON.stringify(b)));
      }),
      { numRuns: 300 },
    );
  });
});

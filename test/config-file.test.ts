/**
 * The config file's schema: `${NAME}` secrets from the environment, named sinks checked by their
 * kind's schema with messages that name the key, and `__proto__` kept a plain key.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { z } from "zod";
import { configJsonSchema } from "../src/server/config.ts";
import { REPO_ROOT } from "./helpers.ts";
import { configFileSchema, interpolateEnv, parseSinks } from "../src/server/config-file.ts";

const kinds = {
  web: z.object({ url: z.url(), retries: z.number().int().min(0).default(3) }).strict(),
  quiet: z.object({}).strict(),
};

describe("config file", () => {
  it("replaces ${NAME} by the environment variable, keeps $${ literal, and names a missing one", () => {
    const env = { ES_API_KEY: "k3y" };
    assert.deepEqual(
      { ...(interpolateEnv({ auth: "ApiKey ${ES_API_KEY}", raw: "$${ES_API_KEY}" }, env) as object) },
      { auth: "ApiKey k3y", raw: "${ES_API_KEY}" },
    );
    assert.throws(
      () => interpolateEnv({ sinks: { es: { auth: { api_key: "${NOPE}" } } } }, env),
      /sinks\.es\.auth\.api_key: the environment variable NOPE is not set/,
    );
  });

  it("keeps a __proto__ key of the file a key, never a prototype", () => {
    const parsed = JSON.parse('{"__proto__": {"polluted": true}, "a": "x"}') as unknown;
    const out = interpolateEnv(parsed, {}) as Record<string, unknown>;
    assert.equal(Object.getPrototypeOf(out), null);
    assert.equal(({} as { polluted?: boolean }).polluted, undefined);
    assert.ok(Object.hasOwn(out, "__proto__"));
  });

  it("checks each named sink by its kind's schema, with defaults, naming sinks.<name>.<key>", () => {
    assert.deepEqual(parseSinks({ es: { type: "web", url: "https://es:9200" } }, kinds), [
      { name: "es", kind: "web", settings: { url: "https://es:9200", retries: 3 } },
    ]);
    assert.throws(
      () => parseSinks({ es: { type: "web", url: "nope" } }, kinds),
      /^ConfigFileError: sinks\.es\.url: /,
    );
    assert.throws(
      () => parseSinks({ es: { type: "web", url: "https://x", retry: 1 } }, kinds),
      /sinks\.es: unknown key "retry"/,
    );
    assert.throws(
      () => parseSinks({ es: { type: "kafka" } }, kinds),
      /sinks\.es\.type: expected one of web, quiet/,
    );
    assert.throws(() => parseSinks({ "Bad Name": { type: "quiet" } }, kinds), /sinks\.Bad Name: a sink name/);
    assert.throws(() => parseSinks([{ type: "quiet" }], kinds), /sinks: expected a mapping/);
  });

  it("gives a JSON Schema that lists every setting and each sink kind's keys", () => {
    const schema = z.toJSONSchema(configFileSchema(kinds), { io: "input" }) as {
      properties: Record<
        string,
        { additionalProperties?: { anyOf?: { properties: Record<string, unknown> }[] } }
      >;
      additionalProperties: boolean;
    };
    assert.equal(schema.additionalProperties, false);
    for (const key of ["http", "tcp", "data", "queue-max", "retain", "original", "sinks"]) {
      assert.ok(key in schema.properties, key);
    }
    const sinkKinds = schema.properties.sinks?.additionalProperties?.anyOf ?? [];
    assert.deepEqual(
      sinkKinds.map((k) => Object.keys(k.properties).sort()),
      [["retries", "type", "url"], ["type"]],
    );
  });
});

describe("the shipped JSON Schema", () => {
  it("is what `npm run schema` writes from the current settings and sink kinds", () => {
    const shipped = readFileSync(join(REPO_ROOT, "schema", "tanium-ecs.config.schema.json"), "utf8");
    assert.equal(shipped, configJsonSchema(), "run `npm run schema` and commit the file");
  });
});

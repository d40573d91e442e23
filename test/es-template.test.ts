import assert from "node:assert/strict";
import { describe, it } from "node:test";
import util from "node:util";
import { EcsFlat } from "@elastic/ecs";
import { ecsMappings, indexTemplate, lifecyclePolicy } from "../src/delivery/elasticsearch/template.ts";

type Mapping = Record<string, unknown> & {
  properties?: Record<string, Mapping>;
  fields?: Record<string, Mapping>;
};

function at(properties: Record<string, Mapping>, dotted: string): Mapping | undefined {
  let current: Mapping | undefined = { properties };
  for (const part of dotted.split(".")) current = current?.properties?.[part];
  return current;
}

function leaves(
  properties: Record<string, Mapping>,
  prefix = "",
  out: Map<string, Mapping> = new Map(),
): Map<string, Mapping> {
  for (const [name, mapping] of Object.entries(properties)) {
    const path = prefix === "" ? name : `${prefix}.${name}`;
    out.set(path, mapping);
    if (mapping.properties !== undefined) leaves(mapping.properties, path, out);
  }
  return out;
}

function allTypes(properties: Record<string, Mapping>): Set<string> {
  const types = new Set<string>();
  for (const mapping of leaves(properties).values()) {
    if (typeof mapping.type === "string") types.add(mapping.type);
    for (const multi of Object.values(mapping.fields ?? {})) types.add(String(multi.type));
  }
  return types;
}

describe("ECS mappings from @elastic/ecs", () => {
  const es = ecsMappings({ product: "elasticsearch", version: "8.12.2" });
  const os = ecsMappings({ product: "opensearch", version: "2.17.1" });

  it("maps every ECS field at its dotted path with ECS's type", () => {
    const mapped = leaves(es.properties);
    for (const [name, def] of Object.entries(EcsFlat as Record<string, { type: string }>)) {
      const mapping = mapped.get(name);
      assert.ok(mapping !== undefined, `${name} is mapped`);
      if (mapping.properties === undefined) assert.equal(mapping.type, def.type, name);
    }
    assert.deepEqual(at(es.properties, "host.name"), { type: "keyword", ignore_above: 1024 });
    assert.deepEqual(at(es.properties, "@timestamp"), { type: "date" });
    assert.deepEqual(at(es.properties, "container.cpu.usage"), {
      type: "scaled_float",
      scaling_factor: 1000,
    });
    assert.deepEqual(at(es.properties, "event.original"), {
      type: "keyword",
      index: false,
      doc_values: false,
    });
    assert.equal(at(es.properties, "process.elf.sections")?.type, "nested");
    assert.ok(at(es.properties, "process.elf.sections.name") !== undefined);
  });

  it("keeps multi-fields, such as process.command_line.text", () => {
    assert.deepEqual(at(es.properties, "process.command_line"), {
      type: "wildcard",
      fields: { text: { type: "match_only_text" } },
    });
  });

  it("maps the tanium object as one flattened field, and labels by a dynamic template", () => {
    assert.deepEqual(es.properties.tanium, { type: "flattened" });
    assert.ok(
      es.dynamic_templates.some((entry) =>
        util.isDeepStrictEqual(entry, {
          labels: { path_match: "labels.*", match_mapping_type: "string", mapping: { type: "keyword" } },
        }),
      ),
    );
  });

  it("on OpenSearch, uses only the types OpenSearch has", () => {
    const types = allTypes(os.properties);
    for (const absent of ["wildcard", "constant_keyword", "flattened", "match_only_text"]) {
      assert.ok(!types.has(absent), `no ${absent} on OpenSearch`);
    }
    assert.deepEqual(os.properties.tanium, { type: "flat_object" });
    assert.deepEqual(at(os.properties, "process.command_line"), {
      type: "keyword",
      ignore_above: 8191,
      fields: { text: { type: "text" } },
    });
    assert.equal(at(os.properties, "data_stream.dataset")?.type, "keyword");
    assert.equal(at(os.properties, "message")?.type, "text");
    assert.equal(leaves(os.properties).size, leaves(es.properties).size);
  });

  it("on OpenSearch before 2.7 (no flat_object), keeps tanium unindexed; Elasticsearch 7.10 has no match_only_text", () => {
    assert.deepEqual(ecsMappings({ product: "opensearch", version: "2.5.0" }).properties.tanium, {
      type: "object",
      enabled: false,
    });
    assert.ok(
      !allTypes(ecsMappings({ product: "elasticsearch", version: "7.10.2" }).properties).has(
        "match_only_text",
      ),
    );
  });
});

describe("index template and lifecycle", () => {
  it("on Elasticsearch 8.13+ composes the built-in logs@mappings and ecs@mappings instead of generating", () => {
    const { name, body } = indexTemplate({
      cluster: { product: "elasticsearch", version: "8.15.3" },
      prefix: "tanium_ecs",
      lifecycle: { policy: "tanium-30d", delete_after: "30d" },
    });
    assert.equal(name, "tanium_ecs");
    assert.deepEqual(body.index_patterns, ["logs-tanium_ecs.*-*"]);
    assert.equal(body.priority, 200);
    assert.deepEqual(body.data_stream, {});
    assert.deepEqual(body.composed_of, ["logs@mappings", "logs@settings", "ecs@mappings"]);
    const template = body.template as {
      mappings: { properties: Record<string, unknown> };
      settings: Record<string, unknown>;
    };
    assert.deepEqual(Object.keys(template.mappings.properties), ["tanium"]);
    assert.equal(template.settings["index.lifecycle.name"], "tanium-30d");
  });

  it("before 8.13 and on OpenSearch generates the mappings and raises the field limit", () => {
    for (const cluster of [
      { product: "elasticsearch", version: "8.12.0" },
      { product: "opensearch", version: "2.17.1" },
    ] as const) {
      const { body } = indexTemplate({ cluster, prefix: "tanium_ecs", index: "tanium-events" });
      assert.deepEqual(body.index_patterns, ["tanium-events"]);
      assert.equal(body.data_stream, undefined);
      assert.equal(body.composed_of, undefined);
      const template = body.template as {
        mappings: { properties: Record<string, unknown> };
        settings: Record<string, unknown>;
      };
      assert.ok(Object.keys(template.mappings.properties).length > 40);
      assert.equal(template.settings["index.mapping.total_fields.limit"], 10_000);
    }
  });

  it("an ILM policy on Elasticsearch, an ISM policy on OpenSearch, each deleting after delete_after", () => {
    const lifecycle = { policy: "tanium-30d", delete_after: "30d" };
    const ilm = lifecyclePolicy({
      cluster: { product: "elasticsearch", version: "8.15.0" },
      prefix: "p",
      lifecycle,
    });
    assert.equal(ilm.path, "/_ilm/policy/tanium-30d");
    assert.deepEqual((ilm.body as { policy: { phases: { delete: unknown } } }).policy.phases.delete, {
      min_age: "30d",
      actions: { delete: {} },
    });
    const ism = lifecyclePolicy({
      cluster: { product: "opensearch", version: "2.17.1" },
      prefix: "p",
      lifecycle,
    });
    assert.equal(ism.path, "/_plugins/_ism/policies/tanium-30d");
    const policy = (
      ism.body as { policy: { states: { name: string; transitions: unknown[] }[]; ism_template: unknown[] } }
    ).policy;
    assert.deepEqual(policy.states[0]?.transitions, [
      { state_name: "delete", conditions: { min_index_age: "30d" } },
    ]);
    assert.deepEqual(policy.ism_template, [
      { index_patterns: ["logs-p.*-*", ".ds-logs-p.*-*"], priority: 200 },
    ]);
  });
});

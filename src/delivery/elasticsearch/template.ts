/**
 * @module delivery/elasticsearch/template
 * The index template (and lifecycle policy) the sink installs when asked: ECS mappings generated
 * from Elastic's own field list (`@elastic/ecs`'s `EcsFlat`), adapted to the product and version,
 * or, on Elasticsearch 8.13+, the cluster's built-in `logs@mappings` and `ecs@mappings`.
 * No I/O: the sink sends what these functions build.
 */
import { EcsFlat, EcsVersion } from "@elastic/ecs";

export type Product = "elasticsearch" | "opensearch";

/** The cluster the sink talks to, as `GET /` told it. */
export interface Cluster {
  readonly product: Product;
  /** `version.number`, e.g. `8.15.1`. */
  readonly version: string;
}

type Mapping = Record<string, unknown>;

/** Version as comparable numbers (`8.13.0-SNAPSHOT` → [8, 13, 0]). */
export function versionParts(version: string): [number, number, number] {
  const [major = 0, minor = 0, patch = 0] = version
    .split(/[.-]/)
    .slice(0, 3)
    .map((part) => Number.parseInt(part, 10) || 0);
  return [major, minor, patch];
}

export function atLeast(version: string, major: number, minor = 0): boolean {
  const [a, b] = versionParts(version);
  return a > major || (a === major && b >= minor);
}

/**
 * Elasticsearch 8.13+ ships `ecs@mappings` (dynamic templates mapping every ECS field by name)
 * and `logs@mappings`, which its built-in `logs` template composes: a template of ours generating
 * the same fields would only fight them (two sources of truth, ours frozen at 9.4.0 while the
 * cluster's follows its upgrades), so there we compose them instead.
 */
export function composesBuiltIn(cluster: Cluster): boolean {
  return cluster.product === "elasticsearch" && atLeast(cluster.version, 8, 13);
}

/** One ECS type as this product and version spell it. */
function typeFor(type: string, cluster: Cluster): string {
  if (cluster.product === "opensearch") {
    // OpenSearch forked from 7.10.2 before these types (or, for flattened, under another name).
    if (type === "wildcard" || type === "constant_keyword") return "keyword";
    if (type === "match_only_text") return "text";
    if (type === "flattened") return atLeast(cluster.version, 2, 7) ? "flat_object" : "object";
    return type;
  }
  // match_only_text came with Elasticsearch 7.14.
  if (type === "match_only_text" && !atLeast(cluster.version, 7, 14)) return "text";
  return type;
}

/** Mapping parameters of one ECS field definition that the target type takes. */
function leafMapping(def: Record<string, unknown>, cluster: Cluster): Mapping {
  const ecsType = String(def.type);
  const type = typeFor(ecsType, cluster);
  const mapping: Mapping = { type };
  if (type === "object") {
    // A flattened field on OpenSearch before 2.7: kept in _source, not indexed.
    if (ecsType === "flattened") mapping.enabled = false;
    return mapping;
  }
  if (type === "keyword") {
    if (typeof def.ignore_above === "number") mapping.ignore_above = def.ignore_above;
    // A keyword term is at most 32,766 bytes (Lucene's limit) or the document is refused: a
    // wildcard field made keyword (OpenSearch) keeps long command lines by not indexing them.
    else if (ecsType === "wildcard") mapping.ignore_above = 8191;
  }
  if (type === "scaled_float" && typeof def.scaling_factor === "number") {
    mapping.scaling_factor = def.scaling_factor;
  }
  if (def.index === false) mapping.index = false;
  if (def.doc_values === false) mapping.doc_values = false;
  if (Array.isArray(def.multi_fields) && def.multi_fields.length > 0) {
    const fields: Record<string, Mapping> = {};
    for (const multi of def.multi_fields as Record<string, unknown>[]) {
      fields[String(multi.name)] = { type: typeFor(String(multi.type), cluster) };
    }
    mapping.fields = fields;
  }
  return mapping;
}

export interface GeneratedMappings {
  readonly dynamic_templates: Record<string, Mapping>[];
  readonly properties: Record<string, Mapping>;
}

/**
 * Mappings for every ECS field, from the flat list (`process.parent.pid` → nested `properties`),
 * keeping multi-fields (`process.command_line.text`) and the `tanium` object as one flattened
 * field (`flat_object` on OpenSearch): Tanium's own columns vary by sensor and saved question, and
 * one field per column would soon pass the index's field limit.
 */
export function ecsMappings(cluster: Cluster, flat: Record<string, unknown> = EcsFlat): GeneratedMappings {
  const root: Record<string, Mapping> = {};
  const dynamicTemplates: Record<string, Mapping>[] = [];
  const names = Object.keys(flat).sort();
  const parents = new Set<string>();
  for (const name of names) {
    for (let dot = name.indexOf("."); dot > 0; dot = name.indexOf(".", dot + 1))
      parents.add(name.slice(0, dot));
  }
  for (const name of names) {
    const def = flat[name] as Record<string, unknown>;
    const path = name.split(".");
    let properties = root;
    for (const part of path.slice(0, -1)) {
      const parent = (properties[part] ??= {});
      properties = (parent.properties ??= {}) as Record<string, Mapping>;
    }
    const last = path[path.length - 1] as string;
    const existing = properties[last] ?? {};
    if (parents.has(name)) {
      // An object or nested field with fields of its own: only its type, children come on their own.
      if (def.type === "nested") existing.type = "nested";
      properties[last] = existing;
      continue;
    }
    if (def.type === "object" && typeof def.object_type === "string") {
      // `labels`: an object of keywords, whatever their names (ECS's own generator does this).
      dynamicTemplates.push({
        [name]: { path_match: `${name}.*`, match_mapping_type: "string", mapping: { type: def.object_type } },
      });
      properties[last] = { type: "object" };
      continue;
    }
    properties[last] = leafMapping(def, cluster);
  }
  root.tanium = { type: typeFor("flattened", cluster) };
  if (root.tanium.type === "object") root.tanium.enabled = false;
  return { dynamic_templates: dynamicTemplates, properties: root };
}

export interface TemplateOptions {
  readonly cluster: Cluster;
  readonly prefix: string;
  /** A fixed index; when absent, data streams. */
  readonly index?: string | undefined;
  readonly lifecycle?: { readonly policy: string; readonly delete_after: string } | undefined;
}

/** The index patterns the template covers: the sink's data streams, or its fixed index. */
export function templatePatterns(options: Pick<TemplateOptions, "prefix" | "index">): string[] {
  return options.index === undefined ? [`logs-${options.prefix}.*-*`] : [options.index];
}

/**
 * Above the built-in `logs` template's 100 (`logs-*-*`, Elasticsearch 7.9+): the most specific
 * template must win, and Elasticsearch refuses two overlapping templates of the same priority.
 * 200 is what Fleet integrations use for their own `logs-<dataset>-*` templates.
 */
export const TEMPLATE_PRIORITY = 200;

/** The name and body of `PUT _index_template/<name>`. */
export function indexTemplate(options: TemplateOptions): { name: string; body: Mapping } {
  const { cluster, prefix, index, lifecycle } = options;
  const dataStreams = index === undefined;
  const settings: Mapping = {};
  const template: Mapping = { settings };
  const body: Mapping = {
    index_patterns: templatePatterns(options),
    priority: TEMPLATE_PRIORITY,
    template,
    _meta: { managed_by: "tanium-ecs", ecs_version: EcsVersion },
  };
  if (dataStreams) body.data_stream = {};
  if (composesBuiltIn(cluster)) {
    // logs@settings brings the logs defaults (its lifecycle, ignore_malformed); a fixed index has
    // no rollover alias for the default `logs` ILM policy, so it takes the mappings only.
    body.composed_of = dataStreams ? ["logs@mappings", "logs@settings", "ecs@mappings"] : ["ecs@mappings"];
    template.mappings = { properties: { tanium: { type: "flattened" } } };
  } else {
    const generated = ecsMappings(cluster);
    template.mappings = { date_detection: false, ...generated };
    // ECS has some 2,600 fields, above the default limit of 1,000 per index.
    settings["index.mapping.total_fields.limit"] = 10_000;
  }
  if (lifecycle !== undefined && cluster.product === "elasticsearch") {
    settings["index.lifecycle.name"] = lifecycle.policy;
  }
  // OpenSearch attaches an ISM policy by the policy's own `ism_template`, not an index setting.
  const name = dataStreams ? `${prefix}` : `${prefix}-${index}`;
  return { name, body };
}

/** The path and body of the lifecycle policy: ILM on Elasticsearch, ISM on OpenSearch. */
export function lifecyclePolicy(
  options: TemplateOptions & { lifecycle: { policy: string; delete_after: string } },
): {
  path: string;
  body: Mapping;
} {
  const { cluster, lifecycle } = options;
  const dataStreams = options.index === undefined;
  const policy = encodeURIComponent(lifecycle.policy);
  if (cluster.product === "elasticsearch") {
    // Rollover needs a data stream (or a write alias); a fixed index is only deleted when old.
    const hot = dataStreams
      ? { actions: { rollover: { max_primary_shard_size: "50gb", max_age: "30d" } } }
      : { actions: {} };
    return {
      path: `/_ilm/policy/${policy}`,
      body: {
        policy: {
          phases: {
            hot: { min_age: "0ms", ...hot },
            delete: { min_age: lifecycle.delete_after, actions: { delete: {} } },
          },
          _meta: { managed_by: "tanium-ecs" },
        },
      },
    };
  }
  return {
    path: `/_plugins/_ism/policies/${policy}`,
    body: {
      policy: {
        description: "tanium-ecs: delete indices after " + lifecycle.delete_after,
        default_state: "hot",
        states: [
          {
            name: "hot",
            actions: [],
            transitions: [{ state_name: "delete", conditions: { min_index_age: lifecycle.delete_after } }],
          },
          { name: "delete", actions: [{ delete: {} }], transitions: [] },
        ],
        // ISM matches a data stream by its name; its backing indices are `.ds-<stream>-<generation>`.
        ism_template: [
          {
            index_patterns: dataStreams
              ? [...templatePatterns(options), `.ds-logs-${options.prefix}.*-*`]
              : templatePatterns(options),
            priority: TEMPLATE_PRIORITY,
          },
        ],
      },
    },
  };
}

/**
 * @module delivery/elasticsearch/routing
 * Where each event goes: its data stream (or the fixed index), and the `data_stream` fields its
 * document must carry there.
 */

/**
 * The dataset of an event's data stream: `<prefix>.<event.dataset without "tanium.">`
 * (`tanium.recorder` → `tanium_ecs.recorder`), `<prefix>.unknown` when it has none. The prefix is
 * not `tanium`: Elastic's Tanium integration owns `logs-tanium.*-*` (its index templates and the
 * ingest pipeline that rewrites `event.category` and `event.type` from Tanium's raw fields), and
 * our documents, already ECS, must not go through it. Data stream names are lower case and `-`
 * separates type, dataset and namespace, so the dataset part has neither upper case nor `-`.
 */
export function streamDataset(prefix: string, dataset: string): string {
  const bare = dataset.startsWith("tanium.") ? dataset.slice("tanium.".length) : dataset;
  const clean = bare
    .toLowerCase()
    .replace(/[^a-z0-9_.]/g, "_")
    .replace(/^[._]+/, "")
    .slice(0, 100);
  return `${prefix}.${clean === "" ? "unknown" : clean}`;
}

export function dataStreamName(dataset: string, namespace: string): string {
  return `logs-${dataset}-${namespace}`;
}

/**
 * The `"data_stream":{…}` member for one data stream, to splice into documents: the data
 * stream's `constant_keyword` fields must match its name, or Elasticsearch refuses the document.
 */
export function dataStreamMember(dataset: string, namespace: string): string {
  return `"data_stream":${JSON.stringify({ type: "logs", dataset, namespace })}`;
}

/**
 * The document's JSON text with `member` as its first member: a document is a JSON object, so the
 * text is spliced after its `{` instead of parsing and serializing every document again. A
 * document that has a `data_stream` of its own (rare: one replayed from another cluster) is
 * parsed, since a JSON object with a repeated key is refused by Elasticsearch.
 */
export function withMember(json: string, member: string, key = "data_stream"): string {
  if (json.includes(`"${key}"`)) {
    const doc = JSON.parse(json) as Record<string, unknown>;
    delete doc[key];
    return withMember(JSON.stringify(doc), member, key);
  }
  const open = json.indexOf("{");
  const rest = json.slice(open + 1).trimStart();
  return rest.startsWith("}") ? `{${member}}` : `{${member},${rest}`;
}

/**
 * @module delivery/elasticsearch
 * The Elasticsearch / OpenSearch sink: its settings schema and its factory.
 */
export {
  elasticsearchSettings,
  type ElasticsearchSettings,
  type ElasticsearchSettingsInput,
} from "./settings.ts";
export { elasticsearchSink } from "./sink.ts";
export { ecsMappings, indexTemplate, lifecyclePolicy, type Cluster, type Product } from "./template.ts";
export { streamDataset } from "./routing.ts";

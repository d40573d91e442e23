/**
 * @module delivery/splunk
 * The Splunk HTTP Event Collector sink (`splunk_hec`): its settings and its factory.
 */
export { splunkHecSettings, type SplunkHecSettings } from "./settings.ts";
export { splunkHecSink } from "./sink.ts";

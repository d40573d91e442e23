/**
 * @module tanium-ecs
 * Tanium recorder events → Elastic Common Schema (ECS) 9.4 documents.
 */
export { normalize, deadLetter, DEFAULT_MAX_LINE_BYTES } from "./normalize.ts";
export type { NormalizeOptions, NormalizeResult, DeadLetterContext } from "./normalize.ts";
export type { EcsDocument, TaniumNamespace } from "./ecs/document.ts";
export { ECS_VERSION } from "./ecs/document.ts";
export { ERROR_CODES, type ErrorCode, type NormalizeError } from "./errors.ts";
export { enrichHost, HostDirectory, HOST_ENRICHED_TAG } from "./enrich/hosts.ts";
export type { HostLookup, HostRow } from "./enrich/hosts.ts";

/**
 * @module errors
 * The one table of stable error codes a line can fail with. A code, once published, keeps its
 * meaning and is never reused: dead letters are stored and replayed by code.
 */

export const ERROR_CODES = {
  ERR_LINE_TOO_LONG: "The line is longer than the size limit.",
  ERR_JSON_SYNTAX: "The line is not valid JSON.",
  ERR_NOT_AN_OBJECT: "The JSON value is not an object.",
  ERR_NO_EVENT: "The JSON object is none of the Tanium shapes tanium-ecs knows.",
  ERR_FIELD_TYPE: "A field has a value of the wrong type where its type matters.",
  ERR_TOO_DEEP: "The JSON nesting is deeper than the decoder accepts.",
  ERR_PAYLOAD:
    "A Threat Response alert's details (the `Other Parameters` payload or a `Match Details` text) are not base64 of a UTF-8 JSON object, or not a JSON object.",
  ERR_FRAMING:
    "An RFC 6587 octet-counted frame has a length prefix that is not a number (server TCP input); the text up to the next newline is kept.",
  ERR_INTERNAL: "tanium-ecs failed on this line (a defect, please report it); the line is kept.",
  ERR_SINK_REJECTED:
    "A sink refused the document for good (a mapping or parse error, an invalid event); the original is the ECS document (on a worker, the raw event, which `replay --nats` sends through again), the message the sink's reason.",
  ERR_DELIVERY_FAILED:
    "A worker's sinks did not take the event within the consumer's maximum deliveries (a destination down, or failing the batch, for that long); the original is the raw event, the message the last failure.",
} as const;

export type ErrorCode = keyof typeof ERROR_CODES;

/** A typed failure: the library returns it, never throws it, for bad input. */
export interface NormalizeError {
  readonly code: ErrorCode;
  /** Human explanation naming the offending field or position. */
  readonly message: string;
  /** The dotted path of the offending field, when one field is to blame. */
  readonly field?: string;
}

export function normalizeError(code: ErrorCode, detail?: string, field?: string): NormalizeError {
  const message = detail ? `${ERROR_CODES[code]} ${detail}` : ERROR_CODES[code];
  return field === undefined ? { code, message } : { code, message, field };
}

/** Thrown inside a reader when a field's value cannot be used; caught at the API edge. */
export class FieldTypeError extends Error {
  readonly field: string;
  readonly code: ErrorCode;
  constructor(field: string, expected: string, got: unknown, code: ErrorCode = "ERR_FIELD_TYPE") {
    super(`\`${field}\` must be ${expected}, got ${describe(got)}.`);
    this.field = field;
    this.code = code;
  }
}

function describe(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "an array";
  if (typeof value === "object") return "an object";
  const text = JSON.stringify(value);
  return `${typeof value} ${text.length > 40 ? `${text.slice(0, 40)}…` : text}`;
}

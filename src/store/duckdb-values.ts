/**
 * @module store/duckdb-values
 * DuckDB values → JSON-safe values for `/api/query` and the CLI: BIGINT as a number when safe
 * else a string, timestamps as ISO-8601 UTC, JSON parsed, lists as arrays. And the way in:
 * document values → the staged values of the typed columns.
 */
import {
  dateFromTimestampMillisecondsValue,
  dateFromTimestampSecondsValue,
  DuckDBTimestampTZValue,
  DuckDBTimestampValue,
  DuckDBTypeId,
  JsonDuckDBValueConverter,
  type DuckDBValue,
  type DuckDBValueConverter,
  type Json,
} from "@duckdb/node-api";

/** Microseconds since the epoch → ISO-8601 UTC, with microseconds only when there are some. */
export function isoFromMicros(micros: bigint): string {
  const ms = micros / 1000n - (micros % 1000n < 0n ? 1n : 0n);
  const rest = micros - ms * 1000n;
  const date = new Date(Number(ms));
  if (Number.isNaN(date.getTime())) return String(micros);
  const iso = date.toISOString();
  return rest === 0n ? iso : `${iso.slice(0, -1)}${String(rest).padStart(3, "0")}Z`;
}

function safeNumber(value: bigint): number | string {
  return value >= BigInt(Number.MIN_SAFE_INTEGER) && value <= BigInt(Number.MAX_SAFE_INTEGER)
    ? Number(value)
    : String(value);
}

/**
 * DuckDB value → JSON-safe value. Lists, structs and maps recurse through this converter, so a
 * BIGINT inside a list follows the same rule as one at the top.
 */
export const jsonSafe: DuckDBValueConverter<unknown> = (value, type, converter) => {
  if (value === null) return null;
  switch (type.typeId) {
    case DuckDBTypeId.BIGINT:
    case DuckDBTypeId.UBIGINT:
    case DuckDBTypeId.HUGEINT:
    case DuckDBTypeId.UHUGEINT:
      return typeof value === "bigint" ? safeNumber(value) : String(value);
    case DuckDBTypeId.DECIMAL:
      return Number(String(value));
    case DuckDBTypeId.TIMESTAMP_TZ:
    case DuckDBTypeId.TIMESTAMP:
      return timestampText(value);
    case DuckDBTypeId.TIMESTAMP_MS:
      return dateFromTimestampMillisecondsValue(value).toISOString();
    case DuckDBTypeId.TIMESTAMP_S:
      return dateFromTimestampSecondsValue(value).toISOString();
    case DuckDBTypeId.VARCHAR:
      if (type.alias === "JSON" && typeof value === "string") {
        try {
          return JSON.parse(value) as unknown;
        } catch {
          return value;
        }
      }
      return String(value);
    default:
      // Lists, structs, maps (as a list of {key, value}: keys may be anything), doubles (NaN and
      // infinities as strings): the library's JSON converter, recursing through this one.
      return JsonDuckDBValueConverter(value, type, converter as DuckDBValueConverter<Json>);
  }
};

function timestampText(value: DuckDBValue): string {
  if (value instanceof DuckDBTimestampTZValue || value instanceof DuckDBTimestampValue) {
    return value.isFinite ? isoFromMicros(value.micros) : String(value);
  }
  return String(value);
}

/**
 * @module tanium/endpoint-config/record
 * What an Endpoint Configuration audit row says (connect-exports.md §4): a console user created,
 * changed or deleted a configuration item, and the manifest (the saved actions that deploy the
 * configuration to Windows and non-Windows endpoints) that carries it. In Tanium's terms.
 */

/** What the `action` says happened to the item (`AUDIT_ACTION_CREATED` → `created`). */
export type ConfigChange = "created" | "updated" | "deleted";

export interface ConfigItemRecord {
  id?: string;
  /** `domain` (`endpoint-config`), `data_category` (`tools`), `description`. */
  domain?: string;
  dataCategory?: string;
  description?: string;
}

export interface ManifestItemRecord {
  domain?: string;
  dataCategory?: string;
  /** `ids`, as text. */
  ids: string[];
}

export interface ManifestRecord {
  windowsSavedActionId?: string;
  nonWindowsSavedActionId?: string;
  revision?: number;
  serviceUuid?: string;
  itemCount?: number;
  items: ManifestItemRecord[];
  /** Whether `items` (or one item's `ids`) was longer than the reader reads. */
  truncated: boolean;
}

export interface EndpointConfigRecord {
  /** Which Tanium shape this record was read from: Endpoint Configuration's audit. */
  readonly shape: "endpoint_config";
  /** `timestamp` in UTC, nanoseconds kept as sent. */
  timestamp?: string;
  /** `action` as sent, and what it says; undefined when absent or unknown. */
  action?: string;
  change?: ConfigChange;
  /** `user.user_id`, `user.persona_id`, as text. */
  userId?: string;
  personaId?: string;
  item?: ConfigItemRecord;
  /** `module.solution_id` (`01-080-0332`), `module.solution_context_id`. */
  solutionId?: string;
  solutionContextId?: string;
  manifest?: ManifestRecord;
  /**
   * Keys no reader claims, as spelled, with their values (a null-prototype object); a key of a
   * nested object is named by its path (`manifest.signature`).
   */
  unmapped: Record<string, unknown> | undefined;
  unmappedKeys: string[];
}

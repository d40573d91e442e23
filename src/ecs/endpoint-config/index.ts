/**
 * @module ecs/endpoint-config
 * An Endpoint Configuration audit row → one ECS document, `configuration` (ECS: "creating,
 * modifying, or deleting the settings or parameters of an application"), its type from the
 * `action` (`…_CREATED` creation, `…_UPDATED` change, `…_DELETED` deletion). An absent or unknown
 * action is `change`: every row of this export records a change to an item, only its kind is
 * unsaid. Pure: no clock, no I/O.
 * @see https://www.elastic.co/docs/reference/ecs/ecs-allowed-values-event-category#ecs-event-category-configuration
 */
import type { ConfigChange, EndpointConfigRecord } from "../../tanium/endpoint-config/record.ts";
import { frameDocument, finishDocument, present } from "../connect-export.ts";
import type { MapContext, MapResult } from "../context.ts";

export const DATASET = "tanium.endpoint_config";

const TYPES: Readonly<Record<ConfigChange, string>> = {
  created: "creation",
  updated: "change",
  deleted: "deletion",
};

export function mapEndpointConfig(record: EndpointConfigRecord, context: MapContext): MapResult {
  const doc = frameDocument(
    record,
    {
      kind: "event",
      category: "configuration",
      type: record.change === undefined ? "change" : TYPES[record.change],
      action: record.action,
      dataset: DATASET,
    },
    context,
    "Endpoint Configuration",
  );
  if (record.userId !== undefined) doc.user = { id: record.userId };

  const item = record.item;
  const manifest = record.manifest;
  const module = present({ solution_id: record.solutionId, solution_context_id: record.solutionContextId });
  const values = present({
    persona_id: record.personaId,
    config_item:
      item === undefined
        ? undefined
        : present({
            id: item.id,
            domain: item.domain,
            data_category: item.dataCategory,
            description: item.description,
          }),
    module: Object.keys(module).length === 0 ? undefined : module,
    manifest:
      manifest === undefined
        ? undefined
        : present({
            windows_saved_action_id: manifest.windowsSavedActionId,
            non_windows_saved_action_id: manifest.nonWindowsSavedActionId,
            manifest_revision: manifest.revision,
            service_uuid: manifest.serviceUuid,
            item_count: manifest.itemCount,
            items:
              manifest.items.length === 0
                ? undefined
                : manifest.items.map((entry) =>
                    present({ domain: entry.domain, data_category: entry.dataCategory, ids: entry.ids }),
                  ),
          }),
  });
  finishDocument(doc, context, "endpoint_config", values, record.unmapped, { user: [record.userId] });
  doc.message = messageOf(record);
  return { doc, unmapped: record.unmappedKeys };
}

/** `Tanium endpoint configuration: user 14 updated configuration item 42 (recorder-settings) in endpoint-config/tools`. */
function messageOf(record: EndpointConfigRecord): string {
  const who = record.userId === undefined ? "an unknown user" : `user ${record.userId}`;
  const verb = record.change ?? (record.action === undefined ? "changed" : `changed (${record.action})`);
  const item = record.item;
  let text = `Tanium endpoint configuration: ${who} ${verb} configuration item`;
  if (item?.id !== undefined) text += ` ${item.id}`;
  if (item?.description !== undefined) text += ` (${item.description})`;
  if (item?.domain !== undefined) {
    text += ` in ${item.domain}${item.dataCategory === undefined ? "" : `/${item.dataCategory}`}`;
  }
  return text;
}

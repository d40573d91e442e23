/**
 * @module ecs
 * A typed Tanium record → one ECS document, by shape. One mapper module per shape; this switch
 * is the only place that knows them all.
 */
import type { TaniumRecord } from "../tanium/shapes.ts";
import { mapAction } from "./action/index.ts";
import { mapAlert } from "./alert/index.ts";
import { mapAudit } from "./audit/index.ts";
import { mapClientStatus } from "./client-status/index.ts";
import type { MapContext, MapResult } from "./context.ts";
import { mapDiscover } from "./discover/index.ts";
import { mapEndpointConfig } from "./endpoint-config/index.ts";
import { mapIntegrity } from "./integrity/index.ts";
import { mapRecorderEvent } from "./recorder/index.ts";
import { mapReport } from "./report/index.ts";

export type { MapContext, MapResult } from "./context.ts";

export function mapToEcs(record: TaniumRecord, context: MapContext): MapResult {
  switch (record.shape) {
    case "recorder":
      return mapRecorderEvent(record, context);
    case "alert":
      return mapAlert(record, context);
    case "audit":
      return mapAudit(record, context);
    case "integrity":
      return mapIntegrity(record, context);
    case "action":
      return mapAction(record, context);
    case "client_status":
      return mapClientStatus(record, context);
    case "discover":
      return mapDiscover(record, context);
    case "endpoint_config":
      return mapEndpointConfig(record, context);
    case "report":
      return mapReport(record, context);
  }
}

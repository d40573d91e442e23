/**
 * @module test/store-helpers
 * What the query, replay and export tests share: documents to store, the built CLI run as a
 * user runs it, and a real fastify instance serving `apiRoutes` on a loopback port.
 */
import Fastify, { type FastifyInstance } from "fastify";
import type { EcsDocument } from "../src/ecs/document.ts";
import { apiRoutes } from "../src/server/api.ts";
import type { EventStore } from "../src/store/index.ts";

/** A process_start document; `minutesAgo` sets `@timestamp` relative to `now`. */
export function sampleDoc(id: string, host: string, processName: string, at: string): EcsDocument {
  return {
    "@timestamp": at,
    ecs: { version: "9.4.0" },
    event: { kind: "event", id, category: ["process"], type: ["start"], action: "process_start" },
    host: { name: host, ip: ["10.0.0.1"] },
    process: { pid: 100, name: processName, command_line: `${processName} -x` },
    message: `${processName} started on ${host}`,
  };
}

export { runCli, type CliResult } from "./helpers.ts";

/** A URL where nothing listens: a port just released by the OS. */
export async function deadServerUrl(): Promise<string> {
  const app = Fastify();
  await app.listen({ host: "127.0.0.1", port: 0 });
  const url = serverUrl(app);
  await app.close();
  return url;
}

export function serverUrl(app: FastifyInstance): string {
  const address = app.server.address();
  if (address === null || typeof address === "string") throw new Error("not listening on TCP");
  return `http://127.0.0.1:${address.port}`;
}

/** A real fastify instance with the `/api/*` routes over `store`, behind a bearer token. */
export async function startApi(store: EventStore, token = "s3cret"): Promise<FastifyInstance> {
  const app = Fastify();
  await app.register(async (scope) => {
    scope.addHook("onRequest", async (request, reply) => {
      if (request.headers.authorization !== `Bearer ${token}`)
        await reply.code(401).send({ error: "unauthorized" });
    });
    await scope.register(apiRoutes(store));
  });
  await app.listen({ host: "127.0.0.1", port: 0 });
  return app;
}

/**
 * A fake Elasticsearch / OpenSearch for the sink's tests: a real HTTP(S) server on 127.0.0.1
 * (port 0) speaking the documented protocol (`GET /`, `_bulk` NDJSON with gzip, `create` and
 * `index`, data streams and their naming rules, 409 on a repeated `_id`, `filter_path`,
 * `_index_template`, ILM and ISM policies, API key / basic / bearer auth), with faults injected
 * by rule: per-item 429/500/400, whole-request 429/503 with Retry-After, 413 over a byte limit, a
 * connection reset after the bulk was applied, an answer slower than the client's timeout.
 */
import { createServer as createHttpServer, type IncomingMessage, type ServerResponse } from "node:http";
import { createServer as createHttpsServer } from "node:https";
import type { AddressInfo } from "node:net";
import { gunzipSync } from "node:zlib";

export type Distribution = "elasticsearch" | "opensearch" | "other";

export interface FakeAuth {
  apiKey?: string;
  username?: string;
  password?: string;
  bearer?: string;
}

export interface ItemContext {
  readonly index: string;
  readonly id: string;
  readonly action: string;
  readonly doc: Record<string, unknown>;
  /** How many times this `_id` has arrived in this index, this one included. */
  readonly arrival: number;
}

export type ItemFault = { status: 429 | 500 | 503 } | { status: 400; type?: string; reason?: string };

export type RequestFault =
  { status: 429 | 503 | 401; retryAfter?: string } | { reset: "before" | "after" } | { delayMs: number };

export interface FakeOptions {
  distribution?: Distribution;
  version?: string;
  /** Credentials the server takes; none: open. Mutable through `fake.auth`. */
  auth?: FakeAuth;
  /** `http.max_content_length` in bytes of the decoded body (default 100 MB). */
  maxContentLength?: number;
  tls?: { key: string; cert: string };
  /** Per-item fault, by rule: undefined lets the item through. */
  itemFault?: (item: ItemContext) => ItemFault | undefined;
  /** Whole-request fault of the n-th bulk request (1-based). */
  requestFault?: (n: number) => RequestFault | undefined;
}

interface IsmPolicy {
  policy: unknown;
  seqNo: number;
  primaryTerm: number;
}

function json(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { "content-type": "application/json", ...headers });
  res.end(text);
}

function esError(status: number, type: string, reason: string): unknown {
  return { error: { root_cause: [{ type, reason }], type, reason }, status };
}

/** Elasticsearch index name rules (`MetadataCreateIndexService.validateIndexOrAliasName`). */
function badIndexName(name: string): string | undefined {
  if (name === "") return "must not be empty";
  if (name !== name.toLowerCase()) return "must be lowercase";
  if (/[\\/*?"<>| ,#:]/.test(name))
    return 'must not contain the following characters [ , ", *, \\, <, |, ,, >, /, ?, #, :]';
  if (/^[-_+]/.test(name)) return "must not start with '_', '-', or '+'";
  if (Buffer.byteLength(name) > 255) return "index name is too long";
  return undefined;
}

function globMatch(pattern: string, name: string): boolean {
  const re = new RegExp(
    `^${pattern
      .split("*")
      .map((part) => part.replace(/[.+?^${}()|[\]\\]/g, "\\$&"))
      .join(".*")}$`,
  );
  return re.test(name);
}

function readPath(doc: Record<string, unknown>, path: string[]): unknown {
  let value: unknown = doc;
  for (const part of path) {
    if (typeof value !== "object" || value === null) return undefined;
    value = (value as Record<string, unknown>)[part];
  }
  return value;
}

/** Types each product does not know, for template validation. */
const UNKNOWN_TYPES: Record<"elasticsearch" | "opensearch", ReadonlySet<string>> = {
  elasticsearch: new Set(["flat_object"]),
  opensearch: new Set(["wildcard", "constant_keyword", "flattened", "match_only_text"]),
};

function mappingTypes(mapping: unknown, path: string, out: [string, string][]): void {
  if (typeof mapping !== "object" || mapping === null) return;
  const record = mapping as Record<string, unknown>;
  if (typeof record.type === "string") out.push([path, record.type]);
  for (const key of ["properties", "fields"]) {
    const children = record[key];
    if (typeof children === "object" && children !== null) {
      for (const [name, child] of Object.entries(children))
        mappingTypes(child, path === "" ? name : `${path}.${name}`, out);
    }
  }
}

export class FakeElasticsearch {
  readonly distribution: Distribution;
  readonly version: string;
  auth: FakeAuth | undefined;
  maxContentLength: number;
  itemFault: FakeOptions["itemFault"];
  requestFault: FakeOptions["requestFault"];
  /** index → _id → the stored document text. */
  readonly indices = new Map<string, Map<string, string>>();
  /** `index/_id` → how many times it arrived (any answer). */
  readonly arrivals = new Map<string, number>();
  readonly templates = new Map<string, Record<string, unknown>>();
  readonly ilm = new Map<string, unknown>();
  readonly ism = new Map<string, IsmPolicy>();
  readonly componentTemplates: Set<string>;
  bulkRequests = 0;
  /** Bulk requests being answered now, and the most at once. */
  inFlight = 0;
  maxInFlight = 0;
  /** Headers of the last bulk request. */
  lastBulkHeaders: IncomingMessage["headers"] = {};
  /** Query string of the last bulk request. */
  lastBulkQuery = "";
  private readonly server: ReturnType<typeof createHttpServer>;
  private readonly tls: boolean;

  constructor(options: FakeOptions = {}) {
    this.distribution = options.distribution ?? "elasticsearch";
    this.version = options.version ?? (this.distribution === "opensearch" ? "2.17.1" : "8.15.3");
    this.auth = options.auth;
    this.maxContentLength = options.maxContentLength ?? 100 * 1024 * 1024;
    this.itemFault = options.itemFault;
    this.requestFault = options.requestFault;
    const builtIn = this.distribution === "elasticsearch" && this.atLeast(8, 13);
    this.componentTemplates = new Set(builtIn ? ["logs@mappings", "logs@settings", "ecs@mappings"] : []);
    this.tls = options.tls !== undefined;
    const handler = (req: IncomingMessage, res: ServerResponse): void => {
      this.handle(req, res).catch((error: unknown) => {
        if (!res.headersSent) json(res, 500, esError(500, "exception", String(error)));
        else res.destroy();
      });
    };
    this.server =
      options.tls === undefined ? createHttpServer(handler) : createHttpsServer(options.tls, handler);
  }

  async listen(): Promise<string> {
    await new Promise<void>((resolve) => this.server.listen(0, "127.0.0.1", resolve));
    const { port } = this.server.address() as AddressInfo;
    return `${this.tls ? "https" : "http"}://127.0.0.1:${port}`;
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  /** Every stored document of an index, parsed. */
  docs(index: string): Map<string, Record<string, unknown>> {
    const out = new Map<string, Record<string, unknown>>();
    for (const [id, text] of this.indices.get(index) ?? [])
      out.set(id, JSON.parse(text) as Record<string, unknown>);
    return out;
  }

  /** All stored documents: `index/_id` → text. */
  storedCount(): number {
    let n = 0;
    for (const docs of this.indices.values()) n += docs.size;
    return n;
  }

  private atLeast(major: number, minor: number): boolean {
    const [a = 0, b = 0] = this.version.split(".").map(Number);
    return a > major || (a === major && b >= minor);
  }

  private authorized(header: string | undefined): boolean {
    const auth = this.auth;
    if (auth === undefined) return true;
    if (header === undefined) return false;
    if (auth.apiKey !== undefined && header === `ApiKey ${auth.apiKey}`) return true;
    if (auth.bearer !== undefined && header === `Bearer ${auth.bearer}`) return true;
    if (auth.username !== undefined) {
      const basic = `Basic ${Buffer.from(`${auth.username}:${auth.password ?? ""}`).toString("base64")}`;
      if (header === basic) return true;
    }
    return false;
  }

  private async body(req: IncomingMessage): Promise<Buffer> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const raw = Buffer.concat(chunks);
    return req.headers["content-encoding"] === "gzip" ? gunzipSync(raw) : raw;
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? "/", "http://fake");
    const path = url.pathname;
    const method = req.method ?? "GET";
    if (this.distribution === "other") {
      json(res, 200, { hello: "this is not a search engine" });
      return;
    }
    if (!this.authorized(req.headers.authorization)) {
      await this.body(req);
      json(
        res,
        401,
        esError(401, "security_exception", "unable to authenticate user for REST request [" + path + "]"),
        {
          "www-authenticate": 'ApiKey, Basic realm="security" charset="UTF-8"',
        },
      );
      return;
    }
    if (method === "GET" && path === "/") return this.info(res);
    if (method === "POST" && path === "/_bulk") return this.bulk(req, res, url);
    const template = /^\/_index_template\/([^/]+)$/.exec(path);
    if (template !== null)
      return this.indexTemplate(req, res, decodeURIComponent(template[1] as string), method);
    const ilm = /^\/_ilm\/policy\/([^/]+)$/.exec(path);
    if (ilm !== null && this.distribution === "elasticsearch") {
      const name = decodeURIComponent(ilm[1] as string);
      if (method === "PUT") {
        const body = JSON.parse((await this.body(req)).toString()) as Record<string, unknown>;
        if (typeof body.policy !== "object")
          return json(res, 400, esError(400, "parse_exception", "policy is missing"));
        this.ilm.set(name, body.policy);
        return json(res, 200, { acknowledged: true });
      }
      if (!this.ilm.has(name))
        return json(
          res,
          404,
          esError(404, "resource_not_found_exception", `Lifecycle policy not found: ${name}`),
        );
      return json(res, 200, { [name]: { policy: this.ilm.get(name) } });
    }
    const ism = /^\/_plugins\/_ism\/policies\/([^/]+)$/.exec(path);
    if (ism !== null && this.distribution === "opensearch")
      return this.ismPolicy(req, res, url, decodeURIComponent(ism[1] as string), method);
    await this.body(req);
    json(res, 400, { error: `no handler found for uri [${path}] and method [${method}]` });
  }

  private info(res: ServerResponse): void {
    if (this.distribution === "opensearch") {
      json(res, 200, {
        name: "fake-node",
        cluster_name: "fake",
        version: { distribution: "opensearch", number: this.version, lucene_version: "9.11.1" },
        tagline: "The OpenSearch Project: https://opensearch.org/",
      });
      return;
    }
    json(
      res,
      200,
      {
        name: "fake-node",
        cluster_name: "fake",
        version: { number: this.version, build_flavor: "default", lucene_version: "9.11.1" },
        tagline: "You Know, for Search",
      },
      this.atLeast(7, 14) ? { "x-elastic-product": "Elasticsearch" } : {},
    );
  }

  private async indexTemplate(
    req: IncomingMessage,
    res: ServerResponse,
    name: string,
    method: string,
  ): Promise<void> {
    if (method === "GET") {
      const body = this.templates.get(name);
      if (body === undefined)
        return json(
          res,
          404,
          esError(404, "resource_not_found_exception", `index template matching [${name}] not found`),
        );
      return json(res, 200, { index_templates: [{ name, index_template: body }] });
    }
    const body = JSON.parse((await this.body(req)).toString()) as Record<string, unknown>;
    for (const component of (body.composed_of as string[] | undefined) ?? []) {
      if (!this.componentTemplates.has(component)) {
        return json(
          res,
          400,
          esError(
            400,
            "invalid_index_template_exception",
            `index_template [${name}] invalid, cause [index template [${name}] specifies component templates [${component}] that do not exist]`,
          ),
        );
      }
    }
    const types: [string, string][] = [];
    mappingTypes((body.template as Record<string, unknown> | undefined)?.mappings, "", types);
    const unknown = UNKNOWN_TYPES[this.distribution as "elasticsearch" | "opensearch"];
    for (const [field, type] of types) {
      if (unknown.has(type)) {
        return json(
          res,
          400,
          esError(
            400,
            "mapper_parsing_exception",
            `No handler for type [${type}] declared on field [${field}]`,
          ),
        );
      }
    }
    this.templates.set(name, body);
    json(res, 200, { acknowledged: true });
  }

  private async ismPolicy(
    req: IncomingMessage,
    res: ServerResponse,
    url: URL,
    name: string,
    method: string,
  ): Promise<void> {
    const current = this.ism.get(name);
    if (method === "GET") {
      if (current === undefined) return json(res, 404, esError(404, "status_exception", "Policy not found"));
      return json(res, 200, {
        _id: name,
        _seq_no: current.seqNo,
        _primary_term: current.primaryTerm,
        policy: current.policy,
      });
    }
    const body = JSON.parse((await this.body(req)).toString()) as Record<string, unknown>;
    if (current !== undefined) {
      const seq = url.searchParams.get("if_seq_no");
      const term = url.searchParams.get("if_primary_term");
      if (seq !== String(current.seqNo) || term !== String(current.primaryTerm)) {
        return json(
          res,
          409,
          esError(
            409,
            "version_conflict_engine_exception",
            `[${name}]: version conflict, document already exists (current version [${current.seqNo + 1}])`,
          ),
        );
      }
    }
    const next = { policy: body.policy, seqNo: (current?.seqNo ?? -1) + 1, primaryTerm: 1 };
    this.ism.set(name, next);
    json(res, current === undefined ? 201 : 200, {
      _id: name,
      _seq_no: next.seqNo,
      _primary_term: 1,
      policy: body,
    });
  }

  /** A data stream: ES has the built-in `logs-*-*` template; both take a template with `data_stream`. */
  private isDataStream(index: string): boolean {
    if (this.distribution === "elasticsearch" && globMatch("logs-*-*", index)) return true;
    for (const template of this.templates.values()) {
      if (template.data_stream === undefined) continue;
      if (
        ((template.index_patterns as string[] | undefined) ?? []).some((pattern) => globMatch(pattern, index))
      )
        return true;
    }
    return false;
  }

  private async bulk(req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
    this.inFlight += 1;
    this.maxInFlight = Math.max(this.maxInFlight, this.inFlight);
    try {
      await this.bulkAnswer(req, res, url);
    } finally {
      this.inFlight -= 1;
    }
  }

  private async bulkAnswer(req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
    this.bulkRequests += 1;
    this.lastBulkHeaders = req.headers;
    this.lastBulkQuery = url.search;
    const fault = this.requestFault?.(this.bulkRequests);
    const body = await this.body(req);
    if (fault !== undefined && "reset" in fault && fault.reset === "before") {
      req.socket.destroy();
      return;
    }
    if (fault !== undefined && "status" in fault) {
      const type =
        fault.status === 429
          ? "es_rejected_execution_exception"
          : fault.status === 401
            ? "security_exception"
            : "unavailable_shards_exception";
      return json(
        res,
        fault.status,
        esError(fault.status, type, `injected ${fault.status}`),
        fault.retryAfter === undefined ? {} : { "retry-after": fault.retryAfter },
      );
    }
    if (body.length > this.maxContentLength) {
      res.writeHead(413, { "content-length": "0" });
      res.end();
      return;
    }
    const contentType = req.headers["content-type"] ?? "";
    if (!contentType.startsWith("application/x-ndjson") && !contentType.startsWith("application/json")) {
      return json(res, 406, { error: `Content-Type header [${contentType}] is not supported`, status: 406 });
    }
    const lines = body.toString("utf8").split("\n");
    if (lines[lines.length - 1] !== "") {
      return json(
        res,
        400,
        esError(400, "illegal_argument_exception", "The bulk request must be terminated by a newline [\\n]"),
      );
    }
    const items: Record<string, unknown>[] = [];
    let errors = false;
    for (let at = 0; at + 1 < lines.length; at += 2) {
      const action = JSON.parse(lines[at] as string) as Record<string, { _index?: string; _id?: string }>;
      const [op, meta] = Object.entries(action)[0] as [string, { _index?: string; _id?: string }];
      const index = meta._index ?? "";
      const id = meta._id ?? `auto-${at}`;
      const result = this.bulkItem(op, index, id, lines[at + 1] as string);
      if (result.status >= 300) errors = true;
      items.push({ [op]: { _index: index, _id: id, ...result } });
    }
    const answer = url.searchParams.has("filter_path")
      ? {
          errors,
          items: items.map((item) =>
            Object.fromEntries(
              Object.entries(item).map(([op, r]) => {
                const { status, error } = r as { status: number; error?: unknown };
                return [op, error === undefined ? { status } : { status, error }];
              }),
            ),
          ),
        }
      : { took: 1, errors, items };
    if (fault !== undefined && "reset" in fault) {
      req.socket.destroy();
      return;
    }
    if (fault !== undefined && "delayMs" in fault) {
      await new Promise((resolve) => setTimeout(resolve, fault.delayMs));
      if (req.socket.destroyed) return;
    }
    json(res, 200, answer);
  }

  private bulkItem(
    op: string,
    index: string,
    id: string,
    line: string,
  ): { status: number; result?: string; error?: unknown } {
    const fail = (status: number, type: string, reason: string): { status: number; error: unknown } => ({
      status,
      error: { type, reason, index },
    });
    const bad = badIndexName(index);
    if (bad !== undefined)
      return fail(400, "invalid_index_name_exception", `Invalid index name [${index}], ${bad}`);
    let doc: Record<string, unknown>;
    try {
      doc = JSON.parse(line) as Record<string, unknown>;
    } catch (error) {
      return fail(400, "document_parsing_exception", `[1:1] failed to parse: ${String(error)}`);
    }
    if ((line.match(/"data_stream":/g) ?? []).length > 1) {
      return fail(400, "document_parsing_exception", "[1:2] failed to parse: Duplicate field 'data_stream'");
    }
    if (this.isDataStream(index)) {
      if (op !== "create") {
        return fail(
          400,
          "illegal_argument_exception",
          `only write ops with an op_type of create are allowed in data streams`,
        );
      }
      if (doc["@timestamp"] === undefined) {
        return fail(
          400,
          "document_parsing_exception",
          "[1:1] failed to parse: data stream timestamp field [@timestamp] is missing",
        );
      }
      const [, dataset = "", namespace = ""] = /^logs-([^-]+)-([^-]+)$/.exec(index) ?? [];
      for (const [field, expected] of [
        ["type", "logs"],
        ["dataset", dataset],
        ["namespace", namespace],
      ] as const) {
        const value = readPath(doc, ["data_stream", field]);
        if (value !== undefined && value !== expected) {
          return fail(
            400,
            "document_parsing_exception",
            `[1:1] failed to parse field [data_stream.${field}] of type [constant_keyword] in document with id '${id}'. Preview of field's value: '${String(value)}' (caused by illegal_argument_exception: [constant_keyword] field [data_stream.${field}] only accepts values that are equal to the value defined in the mappings [${expected}], but got [${String(value)}])`,
          );
        }
      }
    }
    const key = `${index}/${id}`;
    const arrival = (this.arrivals.get(key) ?? 0) + 1;
    this.arrivals.set(key, arrival);
    const fault = this.itemFault?.({ index, id, action: op, doc, arrival });
    if (fault !== undefined) {
      if (fault.status === 400) {
        return fail(
          400,
          fault.type ?? "document_parsing_exception",
          fault.reason ?? `[1:1] failed to parse field [x] of type [long] in document with id '${id}'`,
        );
      }
      return fail(
        fault.status,
        fault.status === 429 ? "es_rejected_execution_exception" : "unavailable_shards_exception",
        `injected ${fault.status}`,
      );
    }
    let docs = this.indices.get(index);
    if (docs === undefined) {
      docs = new Map();
      this.indices.set(index, docs);
    }
    if (docs.has(id)) {
      if (op === "create") {
        return fail(
          409,
          "version_conflict_engine_exception",
          `[${id}]: version conflict, document already exists (current version [1])`,
        );
      }
      docs.set(id, line);
      return { status: 200, result: "updated" };
    }
    docs.set(id, line);
    return { status: 201, result: "created" };
  }
}

import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { after, before, describe, it } from "node:test";
import { promisify } from "node:util";
import { Validator } from "@seriousme/openapi-schema-validator";
import { MarketDataService } from "../../src/gen/stockify/v1/market_data_service_pb.js";
import { loadApiComments } from "../../src/rest/api-comments.js";
import { startGateway, type TestGateway } from "../support/gateway.js";

const run = promisify(execFile);

/** One request per operation that the gateway must answer with 200. */
const EXAMPLES: Record<string, { path: string; body?: unknown }> = {
  MarketDataService_GetSnapshot: { path: "/v1/snapshots/13" },
  MarketDataService_GetSnapshot_2: { path: "/snapshot/13" },
  MarketDataService_GetBatchSnapshots: { path: "/v1/snapshots?symbol_ids=13&symbol_ids=25" },
  MarketDataService_GetBatchSnapshots_2: { path: "/v1/snapshots:batchGet", body: { symbolIds: [13] } },
  MarketDataService_ListSymbols: { path: "/v1/symbols" },
  MarketDataService_SubscribeSnapshots: { path: "/v1/snapshots:stream?symbol_ids=13" },
  MarketFeedService_PublishTicks: { path: "/v1/ticks", body: { ticks: [{ symbolId: 13, ltp: 24351 }] } },
  MarketHistoryService_GetCandles: { path: "/v1/symbols/13/candles?interval=1m" },
  MarketHistoryService_GetTicks: { path: "/v1/symbols/13/ticks" },
  MarketHistoryService_StreamCandles: { path: "/v1/symbols/13/candles:stream?interval=1m" },
};

describe("OpenAPI document", () => {
  let gateway: TestGateway;
  let document: any;
  before(async () => {
    gateway = await startGateway();
    const response = await fetch(`${gateway.baseUrl}/openapi.json`);
    assert.equal(response.status, 200);
    assert.match(response.headers.get("content-type") ?? "", /^application\/json/);
    document = await response.json();
  });
  after(() => gateway.close());

  it("is a valid OpenAPI 3.1 document", async () => {
    assert.equal(document.openapi, "3.1.0");
    const result = await new Validator().validate(document);
    assert.equal(result.valid, true, JSON.stringify(result.errors, null, 2));
  });

  it("describes every binding, and the server answers each operation it lists", async () => {
    const operations: Array<{ id: string; method: string; path: string }> = [];
    for (const [path, item] of Object.entries<Record<string, { operationId: string }>>(document.paths)) {
      for (const [method, operation] of Object.entries(item)) operations.push({ id: operation.operationId, method, path });
    }
    assert.deepEqual(operations.map((o) => o.id).sort(), Object.keys(EXAMPLES).sort());
    for (const { id, method, path } of operations) {
      const example = EXAMPLES[id]!;
      // The example must be an instance of the documented path.
      const pattern = new RegExp(`^${path.replace(/\{[^}]+\}/g, "[^/]+").replace(/[.:]/g, "\\$&")}$`);
      assert.match(example.path.split("?")[0]!, pattern, id);
      const abort = new AbortController();
      const response = await fetch(`${gateway.baseUrl}${example.path}`, {
        method: method.toUpperCase(),
        signal: abort.signal,
        ...(example.body === undefined
          ? {}
          : { body: JSON.stringify(example.body), headers: { "content-type": "application/json" } }),
      });
      assert.equal(response.status, 200, `${id}: ${method.toUpperCase()} ${example.path}`);
      abort.abort();
    }
  });

  it("offers bearer-token authentication, optional as the gateway's auth is", () => {
    assert.deepEqual(document.components.securitySchemes.bearerAuth.type, "http");
    assert.deepEqual(document.components.securitySchemes.bearerAuth.scheme, "bearer");
    assert.deepEqual(document.security, [{ bearerAuth: [] }, {}]);
    for (const [path, operations] of Object.entries(document.paths as Record<string, Record<string, { security: unknown }>>)) {
      for (const [method, operation] of Object.entries(operations)) {
        assert.deepEqual(operation.security, [{ bearerAuth: [] }, {}], `${method} ${path}`);
      }
    }
  });

  it("names this gateway as its server, and lists the 4xx answers of every operation with examples", () => {
    assert.deepEqual(document.servers, [{ url: "/", description: "This gateway" }]);
    for (const [path, operations] of Object.entries(document.paths as Record<string, Record<string, { responses: Record<string, unknown> }>>)) {
      for (const [method, operation] of Object.entries(operations)) {
        for (const status of ["400", "401", "403", "404", "429"]) {
          assert.deepEqual(operation.responses[status], { $ref: `#/components/responses/Error${status}` }, `${method} ${path} ${status}`);
        }
      }
    }
    assert.equal(document.components.responses.Error429.content["application/json"].example.code, "resource_exhausted");
    assert.equal(document.components.schemas["stockify.v1.Snapshot"].examples[0].symbol, "NIFTY 50");
  });

  it("passes the Redocly CLI's recommended-strict rules (npm run lint:openapi)", async () => {
    const { stdout, stderr } = await run(process.execPath, ["--import", "tsx", "scripts/lint-openapi.ts"]);
    assert.match(stdout + stderr, /Your API description is valid/);
    assert.doesNotMatch(stdout + stderr, /warning|error/i);
  });

  it("marks the legacy snapshot path deprecated, pointing at the versioned one", () => {
    const legacy = document.paths["/snapshot/{symbol_id}"].get;
    assert.equal(legacy.deprecated, true);
    assert.match(legacy.description, /use `\/v1\/snapshots\/\{symbol_id\}`/);
    assert.equal(document.paths["/v1/snapshots/{symbol_id}"].get.deprecated, undefined);
  });

  it("gives the SSE response the shape of an event, and the stream a Last-Event-ID header", () => {
    const stream = document.paths["/v1/snapshots:stream"].get;
    const event = stream.responses["200"].content["text/event-stream"].schema;
    assert.equal(event.type, "object");
    assert.deepEqual(Object.keys(event.properties).sort(), ["data", "event", "id"]);
    assert.deepEqual(event.properties.data.oneOf[0], { $ref: "#/components/schemas/stockify.v1.SubscribeSnapshotsResponse" });
    assert.ok(stream.parameters.some((p: { name: string; in: string }) => p.name === "Last-Event-ID" && p.in === "header"));
    assert.ok(document.paths["/v1/snapshots/{symbol_id}"].get.responses["304"]);
  });

  it("follows proto3 JSON in its schemas", () => {
    const snapshot = document.components.schemas["stockify.v1.Snapshot"];
    assert.equal(snapshot.properties.volume.type, "string");
    assert.equal(snapshot.properties.volume.format, "uint64");
    assert.equal(snapshot.properties.symbolId.type, "integer");
    assert.equal(snapshot.properties.ltp.type, "number");
    assert.equal(snapshot.properties.exchangeTime.type, "string");
    assert.equal(snapshot.properties.exchangeTime.format, "date-time");
    const batch = document.components.schemas["stockify.v1.GetBatchSnapshotsResponse"];
    assert.equal(batch.properties.snapshots.type, "object");
    assert.deepEqual(batch.properties.snapshots.additionalProperties, { $ref: "#/components/schemas/stockify.v1.Snapshot" });
  });

  it("uses the proto comments as descriptions", () => {
    assert.match(document.components.schemas["stockify.v1.Snapshot"].description, /^Snapshot is the current state of one symbol/);
    assert.match(document.components.schemas["stockify.v1.Snapshot"].properties.ltp.description, /last traded price/);
    const get = document.paths["/v1/snapshots/{symbol_id}"].get;
    // A summary is a short title; the proto comment is the description.
    assert.equal(get.summary, "Get snapshot");
    assert.match(get.description, /^GetSnapshot returns the current snapshot of one symbol\./);
    assert.deepEqual(
      get.parameters.find((p: { name: string }) => p.name === "symbol_id"),
      {
        name: "symbol_id",
        in: "path",
        required: true,
        description: "symbol_id identifies the instrument; 0 is invalid.",
        schema: { type: "integer", format: "uint32", minimum: 0, maximum: 4294967295 },
      },
    );
    const batch = document.paths["/v1/snapshots"].get;
    const ids = batch.parameters.find((p: { name: string }) => p.name === "symbol_ids");
    assert.equal(ids.in, "query");
    assert.equal(ids.explode, true);
  });

  it("has comments for every message and method of the API (npm run generate is up to date)", () => {
    const comments = loadApiComments();
    for (const method of MarketDataService.methods) {
      assert.ok(comments.has(`${MarketDataService.typeName}.${method.name}`), method.name);
      assert.ok(comments.has(method.input.typeName), method.input.typeName);
      assert.ok(comments.has(method.output.typeName), method.output.typeName);
    }
  });

  it("serves the interactive reference page and its script", async () => {
    const page = await fetch(`${gateway.baseUrl}/docs/`);
    assert.equal(page.status, 200);
    const html = await page.text();
    assert.match(html, /\/openapi\.json/);
    const script = html.match(/<script src="([^"]+)"/)?.[1];
    assert.ok(script !== undefined, "the page loads a script");
    const js = await fetch(new URL(script, `${gateway.baseUrl}/docs/`));
    assert.equal(js.status, 200);
    assert.ok((await js.arrayBuffer()).byteLength > 100_000);
  });
});

import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { create, toJson } from "@bufbuild/protobuf";
import {
  GetSnapshotResponseSchema,
  HeartbeatSchema,
  MarketDataService,
  SubscribeSnapshotsResponseSchema,
} from "../../src/gen/stockify/v1/market_data_service_pb.js";
import { collectHttpBindings, type HttpBinding } from "../../src/rest/http-bindings.js";
import { responseJsonText } from "../../src/rest/json-text.js";
import { foldTick } from "../../src/market/snapshot.js";
import { registration } from "../../src/pipeline/service-registry.js";
import { snapshotMessage } from "../../src/services/snapshot-messages.js";

const bindings = collectHttpBindings([registration(MarketDataService, {} as never)]);
const byPath = (path: string): HttpBinding => bindings.find((b) => b.template.source === path)!;

describe("response JSON text", () => {
  it("writes proto3 JSON with every field present", () => {
    const message = create(SubscribeSnapshotsResponseSchema, { event: { case: "snapshot", value: { symbolId: 13, volume: 5n } } });
    const text = responseJsonText(byPath("/v1/snapshots:stream"), message);
    assert.deepEqual(JSON.parse(text), toJson(SubscribeSnapshotsResponseSchema, message, { alwaysEmitImplicit: true }));
    assert.equal(JSON.parse(text).snapshot.volume, "5");
    assert.equal(JSON.parse(text).snapshot.ask, 0);
  });

  it("writes only the response_body field when the rule names one", () => {
    const message = create(GetSnapshotResponseSchema, { snapshot: { symbolId: 25, ltp: 52100 } });
    assert.equal(JSON.parse(responseJsonText(byPath("/v1/snapshots/{symbol_id}"), message)).ltp, 52100);
    assert.equal(responseJsonText(byPath("/v1/snapshots/{symbol_id}"), create(GetSnapshotResponseSchema)), "null");
  });

  it("reuses the text of a frozen message and rewrites a plain one that changed", () => {
    const binding = byPath("/v1/snapshots:stream");
    const frozen = Object.freeze(create(SubscribeSnapshotsResponseSchema, { event: { case: "snapshot", value: { symbolId: 13 } } }));
    assert.equal(responseJsonText(binding, frozen), responseJsonText(binding, frozen));
    const plain = create(SubscribeSnapshotsResponseSchema, { event: { case: "snapshot", value: { symbolId: 13 } } });
    const before = responseJsonText(binding, plain);
    plain.event = { case: "heartbeat", value: create(HeartbeatSchema) };
    assert.notEqual(responseJsonText(binding, plain), before);
    assert.ok("heartbeat" in JSON.parse(responseJsonText(binding, plain)));
  });

  it("writes an LTP snapshot with its four fields only, and a quote with every field", () => {
    const binding = byPath("/v1/snapshots:stream");
    const snapshot = foldTick(undefined, { symbolId: 13, symbol: "NIFTY 50", ltp: 24350.5, exchangeTimeMs: 1000 }, 1000);
    const response = (mode: "ltp" | "quote") =>
      Object.freeze(create(SubscribeSnapshotsResponseSchema, { event: { case: "snapshot", value: snapshotMessage(snapshot, mode) } }));
    assert.deepEqual(JSON.parse(responseJsonText(binding, response("ltp"))), {
      snapshot: { symbolId: 13, ltp: 24350.5, sequence: "1", exchangeTime: "1970-01-01T00:00:01Z" },
    });
    assert.equal(JSON.parse(responseJsonText(binding, response("quote"))).snapshot.bidSize, "0");
  });
});

import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { create } from "@bufbuild/protobuf";
import { createMethodSerializationLookup } from "@connectrpc/connect/protocol";
import { Code, ConnectError } from "@connectrpc/connect";
import { GetSnapshotResponseSchema, MarketDataService } from "../../src/gen/stockify/v1/market_data_service_pb.js";
import { SnapshotSchema } from "../../src/gen/stockify/v1/snapshot_pb.js";
import { withFrozenOutputCache } from "../../src/pipeline/frozen-output-serialization.js";

const method = MarketDataService.method.getSnapshot;
const lookup = (writeMaxBytes = 1 << 20) => withFrozenOutputCache(createMethodSerializationLookup(method, undefined, undefined, { writeMaxBytes, readMaxBytes: 1 << 20 }));
const response = (symbol: string) => create(GetSnapshotResponseSchema, { snapshot: create(SnapshotSchema, { symbolId: 13, symbol }) });

describe("withFrozenOutputCache", () => {
  it("serializes a frozen response once per format", () => {
    const serialization = lookup();
    const frozen = Object.freeze(response("NIFTY 50"));
    for (const binary of [true, false]) {
      const first = serialization.getO(binary).serialize(frozen);
      assert.equal(serialization.getO(binary).serialize(frozen), first, "the same bytes object");
      assert.deepEqual(serialization.getO(binary).parse(first), frozen);
    }
    assert.notDeepEqual(serialization.getO(true).serialize(frozen), serialization.getO(false).serialize(frozen));
  });

  it("serializes a plain response afresh, so a change to it is sent", () => {
    const serialization = lookup();
    const plain = response("NIFTY 50");
    const before = serialization.getO(false).serialize(plain);
    plain.snapshot!.symbol = "BANK NIFTY";
    const after = serialization.getO(false).serialize(plain);
    assert.notEqual(after, before);
    assert.match(new TextDecoder().decode(after), /BANK NIFTY/);
  });

  it("refuses a frozen response over the write limit every time, keeping no bytes", () => {
    const serialization = lookup(8);
    const frozen = Object.freeze(response("a symbol name longer than eight bytes"));
    for (let i = 0; i < 2; i++) {
      assert.throws(
        () => serialization.getO(true).serialize(frozen),
        (error: unknown) => error instanceof ConnectError && error.code === Code.ResourceExhausted,
      );
    }
  });

  it("parses requests as the wrapped serializers do", () => {
    const serialization = lookup();
    const request = serialization.getI(false).parse(new TextEncoder().encode('{"symbolId":13}'));
    assert.equal(request.symbolId, 13);
  });
});

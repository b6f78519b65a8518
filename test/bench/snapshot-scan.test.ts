import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { create, toBinary } from "@bufbuild/protobuf";
import { BinaryWriter, WireType } from "@bufbuild/protobuf/wire";
import { SubscribeSnapshotsResponseSchema } from "../../src/gen/stockify/v1/market_data_service_pb.js";
import { SnapshotScanner } from "../../bench/lib/snapshot-scan.js";

function encode(event: Parameters<typeof create<typeof SubscribeSnapshotsResponseSchema>>[1]): Uint8Array {
  return toBinary(SubscribeSnapshotsResponseSchema, create(SubscribeSnapshotsResponseSchema, event));
}

describe("SnapshotScanner", () => {
  it("reads the symbol, sequence and exchange time protobuf-es encoded", () => {
    const bytes = encode({
      event: {
        case: "snapshot",
        value: {
          symbolId: 1_000_123,
          symbol: "SYN123",
          ltp: 1234.55,
          volume: 2n ** 40n,
          bidSize: 77n,
          sequence: 2n ** 45n + 3n,
          exchangeTime: { seconds: 1_760_000_000n, nanos: 123_456_789 },
        },
      },
    });
    const scanner = new SnapshotScanner();
    assert.equal(scanner.scan(bytes, 0, bytes.length), true);
    assert.equal(scanner.symbolId, 1_000_123);
    assert.equal(scanner.sequence, 2 ** 45 + 3);
    assert.equal(scanner.exchangeMicros, 1_760_000_000_123_456);
  });

  it("reads a message in the middle of a larger buffer, and skips fields it does not know", () => {
    const snapshot = new BinaryWriter()
      .tag(1, WireType.Varint).uint32(13)
      .tag(15, WireType.LengthDelimited).bytes(new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8, 9]))
      .tag(3, WireType.Bit64).double(99.5)
      .tag(16, WireType.Bit32).fixed32(7)
      .tag(13, WireType.Varint).uint64(42n)
      .finish();
    const message = new BinaryWriter().tag(1, WireType.LengthDelimited).bytes(snapshot).finish();
    const buffer = new Uint8Array(message.length + 10).fill(0xff);
    buffer.set(message, 4);
    const scanner = new SnapshotScanner();
    assert.equal(scanner.scan(buffer, 4, 4 + message.length), true);
    assert.equal(scanner.symbolId, 13);
    assert.equal(scanner.sequence, 42);
    assert.equal(scanner.exchangeMicros, 0);
  });

  it("tells a heartbeat from a snapshot", () => {
    const bytes = encode({ event: { case: "heartbeat", value: { serverTime: { seconds: 5n } } } });
    assert.equal(new SnapshotScanner().scan(bytes, 0, bytes.length), false);
  });
});

import { Code, ConnectError, type Interceptor } from "@connectrpc/connect";
import { validateUniversalHandlerOptions } from "@connectrpc/connect/protocol";
import { compressionBrotli, compressionGzip } from "@connectrpc/connect-node";
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { validateGrpcLaneOptions } from "../../../src/server/grpc-lane/grpc-lane-options.js";

describe("validateGrpcLaneOptions", () => {
  it("fills in Connect's own defaults, and gzip and br as connect-fastify does", () => {
    const connect = validateUniversalHandlerOptions({});
    const lane = validateGrpcLaneOptions();
    assert.equal(lane.readMaxBytes, connect.readMaxBytes);
    assert.equal(lane.writeMaxBytes, connect.writeMaxBytes);
    assert.equal(lane.compressMinBytes, connect.compressMinBytes);
    assert.equal(lane.maxTimeoutMs, connect.maxTimeoutMs);
    assert.deepEqual(lane.acceptCompression, [compressionGzip, compressionBrotli]);
    assert.deepEqual(lane.interceptors, []);
    assert.equal(lane.contextValues, undefined);
  });

  it("keeps what it is given", () => {
    const interceptors: Interceptor[] = [(next) => next];
    const lane = validateGrpcLaneOptions({
      interceptors,
      acceptCompression: [compressionGzip],
      readMaxBytes: 10,
      writeMaxBytes: 20,
      compressMinBytes: 0,
      maxTimeoutMs: 1000,
    });
    assert.equal(lane.interceptors, interceptors);
    assert.deepEqual(lane.acceptCompression, [compressionGzip]);
    assert.deepEqual(
      [lane.readMaxBytes, lane.writeMaxBytes, lane.compressMinBytes, lane.maxTimeoutMs],
      [10, 20, 0, 1000],
    );
  });

  it("refuses limits Connect's handlers refuse, with Connect's words", () => {
    for (const options of [{ readMaxBytes: 0 }, { writeMaxBytes: 2 ** 32 }]) {
      assert.throws(
        () => validateGrpcLaneOptions(options),
        (e: unknown) => e instanceof ConnectError && e.code === Code.Internal && /must be >= 1 and <= 4294967295/.test(e.rawMessage),
      );
    }
  });
});

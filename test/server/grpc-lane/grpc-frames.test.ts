import { create } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import { compressedFlag } from "@connectrpc/connect/protocol";
import { findTrailerError } from "@connectrpc/connect/protocol-grpc";
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { GetSnapshotRequestSchema } from "../../../src/gen/stockify/v1/market_data_service_pb.js";
import {
  FRAME_PREFIX_BYTES,
  frameMessage,
  headersObject,
  OK_TRAILERS,
  parseSingleFrame,
  statusTrailers,
} from "../../../src/server/grpc-lane/grpc-frames.js";

function thrown(fn: () => unknown): ConnectError {
  try {
    fn();
  } catch (error) {
    assert.ok(error instanceof ConnectError);
    return error;
  }
  assert.fail("expected an error");
}

describe("frameMessage", () => {
  it("puts a flag byte and a big-endian length in front of the message", () => {
    const frame = frameMessage(Uint8Array.of(1, 2, 3));
    assert.deepEqual([...frame], [0, 0, 0, 0, 3, 1, 2, 3]);
    assert.equal(FRAME_PREFIX_BYTES, 5);
  });

  it("sets the flags it is given", () => {
    assert.equal(frameMessage(Uint8Array.of(9), compressedFlag)[0], compressedFlag);
  });

  it("frames an empty message as a bare prefix", () => {
    assert.deepEqual([...frameMessage(new Uint8Array(0))], [0, 0, 0, 0, 0]);
  });
});

describe("parseSingleFrame", () => {
  it("gives the one message of a body", () => {
    const frame = parseSingleFrame(frameMessage(Uint8Array.of(7, 8)), 100, "unary");
    assert.equal(frame.compressed, false);
    assert.deepEqual([...frame.bytes], [7, 8]);
  });

  it("tells a compressed message by its flag", () => {
    assert.equal(parseSingleFrame(frameMessage(Uint8Array.of(7), compressedFlag), 100, "unary").compressed, true);
  });

  it("takes a message of exactly readMaxBytes", () => {
    assert.equal(parseSingleFrame(frameMessage(new Uint8Array(10)), 10, "unary").bytes.length, 10);
  });

  it("refuses a body without a message, as Connect does", () => {
    const error = thrown(() => parseSingleFrame(Buffer.alloc(0), 100, "server-streaming"));
    assert.equal(error.code, Code.Unimplemented);
    assert.equal(error.rawMessage, "protocol error: missing input message for server-streaming method");
  });

  it("refuses a torn prefix and a truncated message as incomplete", () => {
    const frame = frameMessage(Uint8Array.of(1, 2, 3));
    for (const body of [frame.subarray(0, 3), frame.subarray(0, 6)]) {
      const error = thrown(() => parseSingleFrame(body, 100, "unary"));
      assert.equal(error.code, Code.InvalidArgument);
      assert.equal(error.rawMessage, "protocol error: incomplete envelope");
    }
  });

  it("refuses a message over readMaxBytes from its prefix alone", () => {
    const prefixOnly = frameMessage(new Uint8Array(11)).subarray(0, FRAME_PREFIX_BYTES);
    const error = thrown(() => parseSingleFrame(prefixOnly, 10, "unary"));
    assert.equal(error.code, Code.ResourceExhausted);
    assert.equal(error.rawMessage, "message size 11 is larger than configured readMaxBytes 10");
  });

  it("refuses a second message", () => {
    const one = frameMessage(Uint8Array.of(1));
    const error = thrown(() => parseSingleFrame(Buffer.concat([one, one]), 100, "unary"));
    assert.equal(error.code, Code.Unimplemented);
    assert.equal(error.rawMessage, "protocol error: received extra input message for unary method");
  });
});

describe("statusTrailers", () => {
  it("carries a ConnectError's code and message the way Connect's client reads them", () => {
    const trailers = statusTrailers(new ConnectError("no such symbol: 7", Code.NotFound));
    assert.equal(trailers["grpc-status"], String(Code.NotFound));
    const back = findTrailerError(new Headers(trailers as Record<string, string>));
    assert.equal(back?.code, Code.NotFound);
    assert.equal(back?.rawMessage, "no such symbol: 7");
  });

  it("turns any other error into INTERNAL without its message", () => {
    const trailers = statusTrailers(new Error("secret detail"));
    assert.equal(trailers["grpc-status"], String(Code.Internal));
    assert.equal(decodeURIComponent(String(trailers["grpc-message"])), "internal error");
  });

  it("keeps the call's own trailers and the error's details", () => {
    const error = new ConnectError("bad symbol", Code.InvalidArgument, undefined, [
      { desc: GetSnapshotRequestSchema, value: create(GetSnapshotRequestSchema, { symbolId: 7 }) },
    ]);
    const trailers = statusTrailers(error, new Headers({ "x-served-by": "test" }));
    assert.equal(trailers["x-served-by"], "test");
    assert.equal(typeof trailers["grpc-status-details-bin"], "string");
    const back = findTrailerError(new Headers(trailers as Record<string, string>));
    assert.equal(back?.details.length, 1);
  });
});

describe("headersObject", () => {
  it("copies Fetch headers into the object node:http2 takes, lower-case", () => {
    const out = headersObject(new Headers({ "X-One": "1", "x-two": "2" }), { ":status": 200 });
    assert.deepEqual(out, { ":status": 200, "x-one": "1", "x-two": "2" });
  });
});

describe("OK_TRAILERS", () => {
  it("is the frozen OK status", () => {
    assert.deepEqual(OK_TRAILERS, { "grpc-status": "0" });
    assert.ok(Object.isFrozen(OK_TRAILERS));
  });
});

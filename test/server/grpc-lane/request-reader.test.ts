import { create, toBinary } from "@bufbuild/protobuf";
import { Code } from "@connectrpc/connect";
import { compressionGzip } from "@connectrpc/connect-node";
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { PassThrough } from "node:stream";
import { gzipSync } from "node:zlib";
import { GetSnapshotRequestSchema, type GetSnapshotRequest } from "../../../src/gen/stockify/v1/market_data_service_pb.js";
import { decodeRequest, readRequest, type RequestShape } from "../../../src/server/grpc-lane/request-reader.js";
import { expectCode } from "../../support/expect-code.js";
import { frame } from "../../support/raw-grpc.js";

const SHAPE: RequestShape = { schema: GetSnapshotRequestSchema, kind: "unary", compression: null, readMaxBytes: 1024 };
const request = (symbolId: number) => toBinary(GetSnapshotRequestSchema, create(GetSnapshotRequestSchema, { symbolId }));

describe("readRequest", () => {
  it("reads the one message of a body that arrives in pieces", async () => {
    const body = frame(request(13));
    const stream = new PassThrough();
    const read = readRequest(stream, SHAPE);
    for (const byte of body) stream.write(Buffer.of(byte));
    stream.end();
    assert.equal(((await read) as GetSnapshotRequest).symbolId, 13);
  });

  it("fails as soon as the body passes readMaxBytes, before it ends, and reads on", async () => {
    const stream = new PassThrough();
    const read = readRequest(stream, { ...SHAPE, readMaxBytes: 8 });
    stream.write(frame(new Uint8Array(20)));
    const error = await expectCode(read, Code.ResourceExhausted);
    assert.equal(error.rawMessage, "message size is larger than configured readMaxBytes 8");
    // The rest is read and dropped, so a sender is never left stuck.
    assert.equal(stream.readableFlowing, true);
    const ended = new Promise((resolve) => stream.once("end", resolve));
    stream.end(Buffer.alloc(64 * 1024));
    await ended;
  });

  it("counts the prefix apart from readMaxBytes", async () => {
    const stream = new PassThrough();
    const read = readRequest(stream, { ...SHAPE, readMaxBytes: 20 });
    stream.end(frame(new Uint8Array(20)));
    // 20 zero bytes are no valid message, but they were read whole.
    await expectCode(read, Code.Internal);
  });

  it("refuses an empty body as a missing message", async () => {
    const stream = new PassThrough();
    const read = readRequest(stream, { ...SHAPE, kind: "server-streaming" });
    stream.end();
    const error = await expectCode(read, Code.Unimplemented);
    assert.equal(error.rawMessage, "protocol error: missing input message for server-streaming method");
  });
});

describe("decodeRequest", () => {
  it("decompresses a message flagged as compressed", async () => {
    const body = frame(gzipSync(request(25)), true);
    const message = await decodeRequest(body, { ...SHAPE, compression: compressionGzip });
    assert.equal((message as GetSnapshotRequest).symbolId, 25);
  });

  it("refuses a compressed message that came without grpc-encoding", async () => {
    const error = await expectCode(decodeRequest(frame(gzipSync(request(25)), true), SHAPE), Code.Internal);
    assert.equal(error.rawMessage, "protocol error: received compressed message without grpc-encoding");
  });

  it("refuses a message that inflates past readMaxBytes", async () => {
    const body = frame(gzipSync(Buffer.alloc(4096)), true);
    await expectCode(decodeRequest(body, { ...SHAPE, compression: compressionGzip, readMaxBytes: 1024 }), Code.ResourceExhausted);
  });

  it("answers INTERNAL, in Connect's words, to bytes that are not the message", async () => {
    const error = await expectCode(decodeRequest(frame(Buffer.from([0xff, 0xff, 0xff, 0xff])), SHAPE), Code.Internal);
    assert.match(error.rawMessage, /^parse binary: /);
  });
});

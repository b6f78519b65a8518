import { create, toBinary } from "@bufbuild/protobuf";
import assert from "node:assert/strict";
import * as http2 from "node:http2";
import { after, before, describe, it } from "node:test";
import { GetSnapshotRequestSchema } from "../../src/gen/stockify/v1/market_data_service_pb.js";
import { startGateway, type TestGateway } from "../support/gateway.js";
import { GRPC_LANES } from "../support/grpc-lanes.js";
import { frame, rawGrpcCall } from "../support/raw-grpc.js";

const GET = "/stockify.v1.MarketDataService/GetSnapshot";
const request = () => toBinary(GetSnapshotRequestSchema, create(GetSnapshotRequestSchema, { symbolId: 13 }));
/** A frame whose flags byte has a bit gRPC does not define. */
const oddFlags = () => {
  const body = frame(request());
  body[0] = 0x80;
  return body;
};

/** statusOf reads a gRPC or gRPC-Web answer's status, from its trailers or from the trailer frame of a gRPC-Web body. */
function statusOf(answer: Awaited<ReturnType<typeof rawGrpcCall>>): string | undefined {
  if (answer.status !== undefined) return answer.status;
  let at = 0;
  while (at + 5 <= answer.body.length) {
    const length = answer.body.readUInt32BE(at + 1);
    if (answer.body[at]! & 0x80) return /grpc-status:\s*(\d+)/.exec(answer.body.toString("latin1", at + 5, at + 5 + length))?.[1];
    at += 5 + length;
  }
  return undefined;
}

/** connectUnary posts a Connect unary call and returns its HTTP status and JSON error code. */
function connectUnary(session: http2.ClientHttp2Session, headers: http2.OutgoingHttpHeaders): Promise<{ status: number; code: string | undefined }> {
  return new Promise((resolve, reject) => {
    const stream = session.request({ ":method": "POST", ":path": GET, "content-type": "application/proto", ...headers });
    let status = 0;
    const chunks: Buffer[] = [];
    stream.on("response", (h) => (status = Number(h[":status"])));
    stream.on("data", (c: Buffer) => chunks.push(c));
    stream.on("error", reject);
    stream.on("close", () => {
      const text = Buffer.concat(chunks).toString();
      resolve({ status, code: status === 200 ? undefined : (JSON.parse(text) as { code: string }).code });
    });
    stream.end(request());
  });
}

for (const lane of GRPC_LANES) {
  describe(`calls at the protocol's edges, ${lane.name}`, () => {
    let gateway: TestGateway;
    let session: http2.ClientHttp2Session;

    before(async () => {
      gateway = await startGateway(lane.env);
      session = http2.connect(gateway.baseUrl);
    });
    after(async () => {
      session.close();
      await gateway.close();
    });

    for (const timeout of ["0S", "0n", "1n", "100u", "1m"]) {
      it(`answers DEADLINE_EXCEEDED to grpc-timeout ${timeout}, a deadline that passed before the call started`, async () => {
        const answer = await rawGrpcCall(session, GET, frame(request()), { "grpc-timeout": timeout });
        assert.equal(answer.status, "4", `grpc-status for ${timeout}: ${answer.message}`);
      });
    }

    it("answers OK to a deadline that leaves time to answer", async () => {
      const answer = await rawGrpcCall(session, GET, frame(request()), { "grpc-timeout": "5S" });
      assert.equal(answer.status, "0");
    });

    it("answers DEADLINE_EXCEEDED to gRPC-Web calls whose deadline passed", async () => {
      const answer = await rawGrpcCall(session, GET, frame(request()), { "content-type": "application/grpc-web+proto", "grpc-timeout": "1n" });
      assert.equal(statusOf(answer), "4");
    });

    for (const timeout of ["0", "1"]) {
      it(`answers deadline_exceeded to a Connect call with connect-timeout-ms ${timeout}`, async () => {
        const answer = await connectUnary(session, { "connect-timeout-ms": timeout });
        assert.equal(answer.code, "deadline_exceeded");
      });
    }

    it("answers a Connect call with time to spare", async () => {
      const answer = await connectUnary(session, { "connect-timeout-ms": "5000" });
      assert.equal(answer.status, 200);
    });

    it("refuses a gRPC frame whose flags byte has an unknown bit, with INTERNAL", async () => {
      const answer = await rawGrpcCall(session, GET, oddFlags());
      assert.equal(answer.status, "13");
      assert.match(answer.message ?? "", /flags/);
    });

    it("refuses a gRPC-Web frame whose flags byte has an unknown bit, with INTERNAL", async () => {
      const answer = await rawGrpcCall(session, GET, oddFlags(), { "content-type": "application/grpc-web+proto" });
      assert.equal(statusOf(answer), "13");
    });

    it("keeps serving the connection after each refusal", async () => {
      const answer = await rawGrpcCall(session, GET, frame(request()));
      assert.equal(answer.status, "0");
    });
  });
}

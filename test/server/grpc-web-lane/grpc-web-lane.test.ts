import type { ServiceImpl } from "@connectrpc/connect";
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { MarketDataService } from "../../../src/gen/stockify/v1/market_data_service_pb.js";
import { registration } from "../../../src/pipeline/service-registry.js";
import { installGrpcWebLane, type GrpcWebLane } from "../../../src/server/grpc-web-lane/grpc-web-lane.js";
import { startBareHttp2Server, type BareHttp2Server } from "../../support/bare-http2-server.js";
import { frame } from "../../support/raw-grpc.js";

const implementation = {
  getSnapshot: ({ symbolId }: { symbolId: number }) => ({ snapshot: { symbolId, symbol: `SYM${symbolId}` } }),
} as unknown as ServiceImpl<typeof MarketDataService>;

const PATH = "/stockify.v1.MarketDataService/GetSnapshot";

describe("installGrpcWebLane on an HTTP/2 server", () => {
  let bare: BareHttp2Server;
  let lane: GrpcWebLane;
  before(async () => {
    bare = await startBareHttp2Server((server) => {
      lane = installGrpcWebLane(server, [registration(MarketDataService, implementation)]);
    });
  });
  after(() => {
    lane.uninstall();
    bare.close();
  });

  const call = (path: string, body: Uint8Array) => bare.post(path, "application/grpc-web+proto", body);

  it("answers a unary gRPC-Web call on its stream: the message, then the trailer frame", async () => {
    const answer = await call(PATH, frame(Buffer.from([8, 13])));
    assert.equal(answer.headers[":status"], 200);
    assert.equal(answer.headers["content-type"], "application/grpc-web+proto");
    assert.ok(answer.headers.date !== undefined);
    // A message frame (flag 0), then a trailer frame (flag 0x80) with grpc-status 0.
    assert.equal(answer.body[0], 0);
    const length = answer.body.readUInt32BE(1);
    assert.equal(answer.body[5 + length], 0x80);
    assert.match(answer.body.subarray(10 + length).toString("latin1"), /grpc-status: ?0/);
    assert.equal(bare.compatRequests(), 0);
  });

  it("passes every other stream on to the server's own handling", async () => {
    const answer = await call("/not/a/method", new Uint8Array(0));
    assert.equal(answer.headers[":status"], 404);
    assert.equal(bare.compatRequests(), 1);
  });
});

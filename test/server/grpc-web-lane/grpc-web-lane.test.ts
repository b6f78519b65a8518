import type { ServiceImpl } from "@connectrpc/connect";
import assert from "node:assert/strict";
import { once } from "node:events";
import * as http2 from "node:http2";
import type { AddressInfo } from "node:net";
import { after, before, describe, it } from "node:test";
import { MarketDataService } from "../../../src/gen/stockify/v1/market_data_service_pb.js";
import { registration } from "../../../src/pipeline/service-registry.js";
import { installGrpcWebLane, type GrpcWebLane } from "../../../src/server/grpc-web-lane/grpc-web-lane.js";
import { frame } from "../../support/raw-grpc.js";

const implementation = {
  getSnapshot: ({ symbolId }: { symbolId: number }) => ({ snapshot: { symbolId, symbol: `SYM${symbolId}` } }),
} as unknown as ServiceImpl<typeof MarketDataService>;

const PATH = "/stockify.v1.MarketDataService/GetSnapshot";

describe("installGrpcWebLane on an HTTP/2 server", () => {
  let server: http2.Http2Server;
  let lane: GrpcWebLane;
  let session: http2.ClientHttp2Session;
  let compatRequests = 0;
  before(async () => {
    server = http2.createServer();
    server.on("request", (_request: http2.Http2ServerRequest, response: http2.Http2ServerResponse) => {
      compatRequests++;
      response.writeHead(404).end();
    });
    lane = installGrpcWebLane(server, [registration(MarketDataService, implementation)]);
    server.listen(0, "127.0.0.1");
    await once(server, "listening");
    session = http2.connect(`http://127.0.0.1:${(server.address() as AddressInfo).port}`);
  });
  after(() => {
    session.close();
    lane.uninstall();
    server.close();
  });

  const call = (path: string, body: Uint8Array) =>
    new Promise<{ headers: http2.IncomingHttpHeaders; body: Buffer }>((resolve, reject) => {
      const stream = session.request({ ":method": "POST", ":path": path, "content-type": "application/grpc-web+proto", "x-grpc-web": "1" });
      let headers: http2.IncomingHttpHeaders = {};
      const chunks: Buffer[] = [];
      stream.on("response", (h) => (headers = h));
      stream.on("data", (chunk: Buffer) => chunks.push(chunk));
      stream.on("end", () => resolve({ headers, body: Buffer.concat(chunks) }));
      stream.on("error", reject);
      stream.end(body);
    });

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
    assert.equal(compatRequests, 0);
  });

  it("passes every other stream on to the server's own handling", async () => {
    const answer = await call("/not/a/method", new Uint8Array(0));
    assert.equal(answer.headers[":status"], 404);
    assert.equal(compatRequests, 1);
  });
});

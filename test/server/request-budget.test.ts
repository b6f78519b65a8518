import { create, toBinary } from "@bufbuild/protobuf";
import assert from "node:assert/strict";
import * as http2 from "node:http2";
import { after, before, describe, it } from "node:test";
import { GetSnapshotRequestSchema } from "../../src/gen/stockify/v1/market_data_service_pb.js";
import { ByteBudget } from "../../src/pipeline/byte-budget.js";
import { startGateway, type TestGateway } from "../support/gateway.js";
import { GRPC_LANES } from "../support/grpc-lanes.js";
import { frame, rawGrpcCall } from "../support/raw-grpc.js";

const GET = "/stockify.v1.MarketDataService/GetSnapshot";
const BUDGET = 64 * 1024;
const PROTOCOLS = [
  { name: "gRPC", headers: { "content-type": "application/grpc", te: "trailers" } },
  { name: "gRPC-Web", headers: { "content-type": "application/grpc-web+proto" } },
];

/** statusOf reads a gRPC status from trailers, headers, or a gRPC-Web trailer frame. */
function statusOf(answer: Awaited<ReturnType<typeof rawGrpcCall>>): string | undefined {
  if (answer.status !== undefined) return answer.status;
  const at = answer.body.findIndex((byte, i) => byte === 0x80 && i + 5 <= answer.body.length);
  return at < 0 ? undefined : /grpc-status:\s*(\d+)/.exec(answer.body.toString("latin1", at + 5))?.[1];
}

describe("ByteBudget", () => {
  it("refuses what would go over it while anything is held, and takes a lone request of any size", () => {
    const budget = new ByteBudget(100);
    budget.take(500);
    assert.throws(() => budget.take(1), /budget of 100/);
    budget.give(500);
    budget.take(60);
    assert.throws(() => budget.take(41), /budget/);
    budget.take(40);
    budget.give(100);
    assert.equal(budget.inUse, 0);
  });
});

for (const lane of GRPC_LANES) {
  describe(`request bytes in flight, over every connection, ${lane.name}`, () => {
    let gateway: TestGateway;
    let holder: http2.ClientHttp2Session;
    let other: http2.ClientHttp2Session;
    before(async () => {
      gateway = await startGateway({ ...lane.env, MAX_REQUEST_BYTES_IN_FLIGHT: `${BUDGET}`, MAX_MESSAGE_BYTES: `${1 << 20}` });
      holder = http2.connect(gateway.baseUrl);
      other = http2.connect(gateway.baseUrl);
    });
    after(async () => {
      holder.destroy();
      other.destroy();
      await gateway.close();
    });

    for (const { name, headers } of PROTOCOLS) {
      it(`refuses a ${name} body with RESOURCE_EXHAUSTED while another connection's large body fills the budget, then serves again`, async () => {
        // A call that announces 200 KB and sends 60 KB of it, then waits.
        const held = holder.request({ ":method": "POST", ":path": GET, ...headers }, { endStream: false });
        held.on("error", () => {});
        held.resume();
        const prefix = Buffer.alloc(5);
        prefix.writeUInt32BE(200_000, 1);
        held.write(Buffer.concat([prefix, Buffer.alloc(60_000)]));
        await new Promise((resolve) => setTimeout(resolve, 300));

        const refused = await rawGrpcCall(other, GET, frame(Buffer.alloc(20_000)), headers);
        assert.equal(statusOf(refused), "8", refused.message);

        held.close(http2.constants.NGHTTP2_CANCEL);
        await new Promise((resolve) => held.once("close", resolve));
        await new Promise((resolve) => setTimeout(resolve, 100));
        const served = await rawGrpcCall(other, GET, frame(toBinary(GetSnapshotRequestSchema, create(GetSnapshotRequestSchema, { symbolId: 13 }))), headers);
        assert.equal(statusOf(served), "0");
      });
    }
  });
}

import assert from "node:assert/strict";
import * as http2 from "node:http2";
import { after, before, describe, it } from "node:test";
import { startGateway, type TestGateway } from "../support/gateway.js";
import { h2Call } from "../support/raw-http.js";

/** An answer reduced to what these tests compare: the status and the JSON body. */
interface JsonAnswer {
  status: number;
  body: { code?: string; message?: string; [key: string]: unknown };
}

async function http1(baseUrl: string, path: string, body: unknown, method: "GET" | "POST" = "POST"): Promise<JsonAnswer> {
  const response = await fetch(`${baseUrl}${path}`, {
    method,
    headers: method === "POST" ? { "content-type": "application/json" } : {},
    body: method === "POST" ? (typeof body === "string" ? body : JSON.stringify(body)) : undefined,
  });
  return { status: response.status, body: (await response.json()) as JsonAnswer["body"] };
}

async function h2(session: http2.ClientHttp2Session, path: string, body: unknown): Promise<JsonAnswer> {
  const answer = await h2Call(session, {
    path,
    headers: { "content-type": "application/json" },
    body: Buffer.from(typeof body === "string" ? body : JSON.stringify(body)),
  });
  return { status: Number(answer.headers[":status"]), body: JSON.parse(answer.body.toString()) as JsonAnswer["body"] };
}

const GET_SNAPSHOT = "/stockify.v1.MarketDataService/GetSnapshot";
const PUBLISH = "/stockify.v1.MarketFeedService/PublishTicks";
const BATCH_GET = "/v1/snapshots:batchGet";

// Connect's lean lane takes unary JSON calls; with CONNECT_LANE=off Connect's own handler does.
for (const env of [{}, { CONNECT_LANE: "off" }] as Array<Record<string, string>>) {
  describe(`proto3 JSON for Connect and REST callers alike${"CONNECT_LANE" in env ? " (CONNECT_LANE=off)" : ""}`, () => {
    let gateway: TestGateway;
    let session: http2.ClientHttp2Session;
    before(async () => {
      gateway = await startGateway(env);
      session = http2.connect(gateway.baseUrl);
    });
    after(async () => {
      session.close();
      await gateway.close();
    });

    it("refuses an unknown field over Connect (HTTP/1.1 and HTTP/2) and REST, naming it", async () => {
      for (const answer of [
        await http1(gateway.baseUrl, GET_SNAPSHOT, { symbolId: 13, bogus: 1 }),
        await h2(session, GET_SNAPSHOT, { symbolId: 13, bogus: 1 }),
      ]) {
        assert.equal(answer.status, 400, JSON.stringify(answer.body));
        assert.equal(answer.body.code, "invalid_argument");
        assert.match(answer.body.message ?? "", /bogus/);
      }
      const rest = await http1(gateway.baseUrl, BATCH_GET, { symbolIds: [13], bogus: 1 });
      assert.equal(rest.status, 400);
      assert.match(JSON.stringify(rest.body), /bogus/);
    });

    it("refuses a number written as hex, with a sign or with spaces, in integer and floating-point fields", async () => {
      for (const symbolId of ["0x0d", "+13", " 13", "1_3", "0b1101"]) {
        for (const answer of [
          await http1(gateway.baseUrl, GET_SNAPSHOT, { symbolId }),
          await h2(session, GET_SNAPSHOT, { symbolId }),
        ]) {
          assert.equal(answer.status, 400, `${JSON.stringify(symbolId)}: ${JSON.stringify(answer.body)}`);
          assert.equal(answer.body.code, "invalid_argument");
          assert.match(answer.body.message ?? "", /stockify\.v1\.GetSnapshotRequest\.symbol_id/);
        }
        const rest = await http1(gateway.baseUrl, BATCH_GET, { symbolIds: [symbolId] });
        assert.equal(rest.status, 400, `${JSON.stringify(symbolId)} over REST: ${JSON.stringify(rest.body)}`);
        assert.match(JSON.stringify(rest.body), /symbol_ids/);
      }
      const price = await http1(gateway.baseUrl, PUBLISH, { ticks: [{ symbolId: 13, ltp: "0x5f1e" }] });
      assert.equal(price.status, 400);
      assert.match(price.body.message ?? "", /stockify\.v1\.Tick\.ltp/);
      const restPrice = await http1(gateway.baseUrl, "/v1/ticks", { ticks: [{ symbolId: 13, ltp: "0x5f1e" }] });
      assert.equal(restPrice.status, 400);
      assert.equal((await gateway.app.market.get(13))!.sequence, 1, "no refused tick was applied");
    });

    it("takes numbers as JSON numbers or as decimal strings, exponents included, on every path", async () => {
      const connect = await http1(gateway.baseUrl, GET_SNAPSHOT, { symbolId: "13" });
      assert.equal(connect.status, 200, JSON.stringify(connect.body));
      assert.equal((connect.body.snapshot as { symbolId: number }).symbolId, 13);
      assert.equal((await h2(session, GET_SNAPSHOT, { symbol_id: "1.3e1" })).status, 200);
      const rest = await http1(gateway.baseUrl, BATCH_GET, { symbolIds: ["13", 25] });
      assert.equal(rest.status, 200, JSON.stringify(rest.body));
      const published = await http1(gateway.baseUrl, PUBLISH, { ticks: [{ symbolId: "13", ltp: "24351.5", volume: "5" }] });
      assert.equal(published.status, 200, JSON.stringify(published.body));
      assert.equal((await gateway.app.market.get(13))!.ltp, 24351.5);
    });

    it("holds a Connect GET's JSON message to the same rules", async () => {
      const path = (message: unknown) => `${GET_SNAPSHOT}?connect=v1&encoding=json&message=${encodeURIComponent(JSON.stringify(message))}`;
      assert.equal((await http1(gateway.baseUrl, path({ symbolId: 13 }), undefined, "GET")).status, 200);
      const unknown = await http1(gateway.baseUrl, path({ symbolId: 13, bogus: true }), undefined, "GET");
      assert.equal(unknown.status, 400);
      assert.equal(unknown.body.code, "invalid_argument");
      assert.equal((await http1(gateway.baseUrl, path({ symbolId: "0x0d" }), undefined, "GET")).status, 400);
    });
  });
}

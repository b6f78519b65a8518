import { Code, ConnectError, type HandlerContext, type ServiceImpl } from "@connectrpc/connect";
import { fastifyConnectPlugin } from "@connectrpc/connect-fastify";
import Fastify, { type FastifyInstance } from "fastify";
import assert from "node:assert/strict";
import * as http from "node:http";
import { after, before, describe, it } from "node:test";
import { MarketDataService } from "../../../src/gen/stockify/v1/market_data_service_pb.js";
import { registration } from "../../../src/pipeline/service-registry.js";
import { installConnectLane, type ConnectLane } from "../../../src/server/connect-lane/connect-lane.js";
import { startBareHttp2Server, type BareHttp2Server } from "../../support/bare-http2-server.js";
import { waitFor } from "../../support/transports.js";

/** What each handler saw of its signal, by the x-test header of its call. */
const aborted = new Map<string, unknown>();

function untilAborted(context: HandlerContext): Promise<void> {
  return new Promise((resolve) =>
    context.signal.addEventListener(
      "abort",
      () => {
        aborted.set(context.requestHeader.get("x-test") ?? "", context.signal.reason);
        resolve();
      },
      { once: true },
    ),
  );
}

const implementation: Partial<ServiceImpl<typeof MarketDataService>> = {
  async getSnapshot({ symbolId }, context) {
    if (symbolId === 6) {
      await untilAborted(context);
      throw context.signal.reason;
    }
    return { snapshot: { symbolId, symbol: `SYM${symbolId}` } };
  },
};

const PATH = "/stockify.v1.MarketDataService/GetSnapshot";

function post(port: number, body: string, headers: Record<string, string>): { request: http.ClientRequest; answer: Promise<{ status: number; headers: http.IncomingHttpHeaders; body: string }> } {
  const request = http.request({ host: "127.0.0.1", port, path: PATH, method: "POST", headers: { "content-type": "application/json", ...headers } });
  const answer = new Promise<{ status: number; headers: http.IncomingHttpHeaders; body: string }>((resolve, reject) => {
    request.on("response", (response) => {
      let text = "";
      response.setEncoding("utf8").on("data", (chunk: string) => (text += chunk));
      response.on("end", () => resolve({ status: response.statusCode ?? 0, headers: response.headers, body: text }));
    });
    request.on("error", reject);
  });
  request.end(body);
  return { request, answer };
}

describe("installConnectLane on a plain HTTP/1.1 server with connect-fastify", () => {
  let app: FastifyInstance;
  let lane: ConnectLane;
  let port: number;
  before(async () => {
    app = Fastify();
    await app.register(fastifyConnectPlugin, { routes: (router) => router.service(MarketDataService, implementation) });
    await app.listen({ host: "127.0.0.1", port: 0 });
    const address = app.server.address();
    if (address === null || typeof address === "string") throw new Error("no port");
    port = address.port;
    lane = installConnectLane(app.server, [registration(MarketDataService, implementation as ServiceImpl<typeof MarketDataService>)], {
      requestId: () => "from-the-lane",
    });
  });
  after(() => app.close());

  it("ends the handler's signal with CANCELED when the client goes away", async () => {
    const { request, answer } = post(port, '{"symbolId": 6}', { "x-test": "gone" });
    answer.catch(() => {});
    await new Promise((resolve) => setTimeout(resolve, 50));
    request.destroy();
    await waitFor(() => aborted.has("gone"), 5000, "the handler's signal to abort");
    assert.equal(ConnectError.from(aborted.get("gone")).code, Code.Canceled);
  });

  it("answers DEADLINE_EXCEEDED (504) at the deadline, not when a slow call returns, and ends the handler's signal", async () => {
    const started = performance.now();
    const { answer } = post(port, '{"symbolId": 6}', { "x-test": "late", "connect-timeout-ms": "100" });
    const got = await answer;
    const elapsed = performance.now() - started;
    assert.equal(got.status, 504);
    assert.deepEqual(JSON.parse(got.body), { code: "deadline_exceeded", message: "the operation timed out" });
    assert.equal(got.headers["x-request-id"], "from-the-lane");
    assert.ok(elapsed >= 95, `answered after ${elapsed} ms`);
    assert.equal(ConnectError.from(aborted.get("late")).code, Code.DeadlineExceeded);
  });

  it("gives every request back to the server's handler once uninstalled", async () => {
    const before = await post(port, '{"symbolId": 13}', {}).answer;
    assert.equal(before.headers["x-request-id"], "from-the-lane");
    lane.uninstall();
    const after = await post(port, '{"symbolId": 13}', {}).answer;
    assert.equal(after.status, 200);
    assert.equal(after.headers["x-request-id"], undefined);
    assert.equal(after.body, before.body);
  });
});

describe("installConnectLane on an HTTP/2 server", () => {
  let bare: BareHttp2Server;
  let lane: ConnectLane;
  before(async () => {
    bare = await startBareHttp2Server((server) => {
      lane = installConnectLane(server, [registration(MarketDataService, implementation as ServiceImpl<typeof MarketDataService>)]);
    });
  });
  after(() => {
    lane.uninstall();
    bare.close();
  });

  const call = async (path: string, body: string) => {
    const answer = await bare.post(path, "application/json", body);
    return { headers: answer.headers, body: answer.body.toString("utf8") };
  };

  it("answers a unary Connect call on its stream, with no compatibility request made for it", async () => {
    const answer = await call(PATH, JSON.stringify({ symbolId: 13 }));
    assert.equal(answer.headers[":status"], 200);
    assert.equal(answer.headers["content-type"], "application/json");
    assert.ok(answer.headers.date !== undefined, "a date, as Node's servers send");
    assert.deepEqual(JSON.parse(answer.body), { snapshot: { symbolId: 13, symbol: "SYM13" } });
    assert.equal(bare.compatRequests(), 0);
  });

  it("answers a refused call's error on its stream too", async () => {
    const answer = await call(PATH, "{not json");
    assert.equal(answer.headers[":status"], 400);
    assert.equal(JSON.parse(answer.body).code, "invalid_argument");
    assert.equal(bare.compatRequests(), 0);
  });

  it("passes every other stream on to the server's own handling", async () => {
    const answer = await call("/somewhere/else", "");
    assert.equal(answer.headers[":status"], 404);
    assert.equal(bare.compatRequests(), 1);
  });
});

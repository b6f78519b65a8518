import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { Code, createClient, type Interceptor } from "@connectrpc/connect";
import Fastify from "fastify";
import { callChainPlugin } from "../../src/server/call-chain-plugin.js";
import { MarketDataService } from "../../src/gen/stockify/v1/market_data_service_pb.js";
import { GatewayMetrics } from "../../src/pipeline/gateway-metrics.js";
import { createInterceptorChain } from "../../src/pipeline/interceptor-chain.js";
import { expectCode } from "../support/expect-code.js";
import { startGateway, type TestGateway } from "../support/gateway.js";
import { TRANSPORTS } from "../support/transports.js";

const named = (name: string): Interceptor => Object.assign((next: Parameters<Interceptor>[0]) => next, { label: name });
const labels = (chain: readonly Interceptor[]) => chain.map((i) => (i as unknown as { label: string }).label);

describe("the interceptor chain", () => {
  it("runs observer, deadline, drain, auth, then the embedder's interceptors, outermost first", () => {
    const chain = createInterceptorChain({
      observer: named("observer"),
      deadline: named("deadline"),
      drain: named("drain"),
      auth: named("auth"),
      embedder: [named("first"), named("second")],
    });
    assert.deepEqual(labels(chain), ["observer", "deadline", "drain", "auth", "first", "second"]);
  });

  it("leaves auth out when it is off, and cannot be changed once built", () => {
    const chain = createInterceptorChain({ observer: named("observer"), deadline: named("deadline"), drain: named("drain") });
    assert.deepEqual(labels(chain), ["observer", "deadline", "drain"]);
    assert.ok(Object.isFrozen(chain));
    assert.throws(() => (chain as Interceptor[]).push(named("late")), TypeError);
  });

  it("is refused by Fastify before the plugins that make its parts", async () => {
    const app = Fastify({ logger: false });
    app.decorate("metrics", new GatewayMetrics());
    try {
      await assert.rejects(async () => {
        await app.register(callChainPlugin);
      }, /stockify-services/);
    } finally {
      await app.close();
    }
  });
});

describe("the embedding application's interceptors", () => {
  let gateway: TestGateway;
  const seen: string[] = [];
  before(async () => {
    const embedder: Interceptor = (next) => async (request) => {
      seen.push(request.header.get("authorization") ?? "none");
      return next(request);
    };
    gateway = await startGateway({ AUTH_TOKENS: "reader-secret:read" }, { interceptors: [embedder] });
  });
  after(() => gateway.close());

  for (const transport of TRANSPORTS) {
    it(`see only authenticated calls, over ${transport.name}`, async () => {
      seen.length = 0;
      const client = createClient(MarketDataService, transport.create(gateway.baseUrl));
      await expectCode(client.getSnapshot({ symbolId: 13 }), Code.Unauthenticated);
      assert.deepEqual(seen, []);
      await client.getSnapshot({ symbolId: 13 }, { headers: { authorization: "Bearer reader-secret" } });
      assert.deepEqual(seen, ["Bearer reader-secret"]);
    });
  }

  it("see only authenticated calls, over REST", async () => {
    seen.length = 0;
    assert.equal((await fetch(`${gateway.baseUrl}/v1/snapshots/13`)).status, 401);
    assert.deepEqual(seen, []);
    const allowed = await fetch(`${gateway.baseUrl}/v1/snapshots/13`, { headers: { authorization: "Bearer reader-secret" } });
    assert.equal(allowed.status, 200);
    assert.deepEqual(seen, ["Bearer reader-secret"]);
  });
});

import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { Code, createClient, createContextValues, type Interceptor } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { MarketDataService } from "../../src/gen/stockify/v1/market_data_service_pb.js";
import { Health } from "../../src/gen/grpc/health/v1/health_pb.js";
import { createCallRateLimit } from "../../src/pipeline/call-rate-limit.js";
import { callIdentityKey } from "../../src/pipeline/call-identity.js";
import { createInterceptorChain } from "../../src/pipeline/interceptor-chain.js";
import { expectCode } from "../support/expect-code.js";
import { startGateway, type TestGateway } from "../support/gateway.js";
import { GATEWAY_LANES } from "../support/transports.js";

const bearer = (token: string) => ({ headers: { authorization: `Bearer ${token}` } });

describe("the call rate limit", () => {
  it("is left out of the chain when off, and goes right after auth when on", () => {
    assert.equal(createCallRateLimit({ max: 0, windowMs: 1000 }), undefined);
    const named = (label: string): Interceptor => Object.assign((next: Parameters<Interceptor>[0]) => next, { label });
    const chain = createInterceptorChain({
      observer: named("observer"),
      deadline: named("deadline"),
      drain: named("drain"),
      auth: named("auth"),
      rateLimit: named("rate limit"),
      embedder: [named("embedder")],
    });
    assert.deepEqual(
      chain.map((i) => (i as unknown as { label: string }).label),
      ["observer", "deadline", "drain", "auth", "rate limit", "embedder"],
    );
  });

  it("opens a new window when the old one is over, and says when in retry-after", async () => {
    let now = 0;
    const limit = createCallRateLimit({ max: 2, windowMs: 10_000, now: () => now })!;
    const call = limit(async () => ({}) as never);
    // What the interceptor reads of a call: its identity and its protocol.
    const req = (fingerprint: string) =>
      ({
        contextValues: createContextValues().set(callIdentityKey, { fingerprint }),
        header: new Headers({ "content-type": "application/grpc" }),
      }) as never;
    await call(req("a"));
    await call(req("a"));
    now = 2500;
    const error = await expectCode(call(req("a")), Code.ResourceExhausted);
    assert.equal(error.metadata.get("retry-after"), "8");
    await call(req("b"));
    now = 10_000;
    await call(req("a"));
  });

  for (const lane of GATEWAY_LANES) {
    describe(`per token over every protocol (${lane.name})`, () => {
      const tokens = lane.transports.map((_, i) => `token-${i}`);
      let gateway: TestGateway;
      before(async () => {
        gateway = await startGateway({
          ...lane.env,
          AUTH_TOKENS: [...tokens, "other"].map((t) => `${t}:read`).join(","),
          RATE_LIMIT_MAX: "3",
          RATE_LIMIT_WINDOW_MS: "600000",
        });
      });
      after(() => gateway.close());

      lane.transports.forEach((transport, i) => {
        it(`answers RESOURCE_EXHAUSTED with retry-after past the limit of one token (${transport.name})`, async () => {
          const client = createClient(MarketDataService, transport.create(gateway.baseUrl));
          for (let n = 0; n < 3; n++) assert.equal((await client.getSnapshot({ symbolId: 13 }, bearer(tokens[i]!))).snapshot?.symbolId, 13);
          const error = await expectCode(client.getSnapshot({ symbolId: 13 }, bearer(tokens[i]!)), Code.ResourceExhausted);
          assert.match(error.message, /rate limit of 3 calls/);
          assert.ok(Number(error.metadata.get("retry-after")) > 0);
          // A stream is a call too.
          await expectCode(
            (async () => {
              for await (const _ of client.subscribeSnapshots({ symbolIds: [13] }, bearer(tokens[i]!))) break;
            })(),
            Code.ResourceExhausted,
          );
        });
      });

      it("counts each token on its own, and leaves health checks and REST out", async () => {
        const transport = createGrpcTransport({ baseUrl: gateway.baseUrl });
        for (let n = 0; n < 2; n++) {
          const rest = await fetch(`${gateway.baseUrl}/v1/snapshots/13`, bearer("other"));
          assert.equal(rest.status, 200);
          await rest.arrayBuffer();
        }
        const client = createClient(MarketDataService, transport);
        for (let n = 0; n < 3; n++) await client.getSnapshot({ symbolId: 25 }, bearer("other"));
        const health = createClient(Health, transport);
        for (let n = 0; n < 5; n++) await health.check({ service: "" });
      });
    });
  }
});

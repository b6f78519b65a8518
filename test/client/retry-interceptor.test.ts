import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { Code, ConnectError, createClient, type Interceptor } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { resolveRetryOptions } from "../../packages/client/src/client-options.js";
import { createRetryInterceptor } from "../../packages/client/src/retry-interceptor.js";
import { MarketDataService } from "../../src/gen/stockify/v1/market_data_service_pb.js";
import { MarketFeedService } from "../../src/gen/stockify/v1/market_feed_service_pb.js";
import { startGateway } from "../support/gateway.js";

async function deadPort(): Promise<string> {
  const gw = await startGateway();
  await gw.close();
  return gw.baseUrl;
}

function transportCountingAttempts(baseUrl: string) {
  const attempts: string[] = [];
  const count: Interceptor = (next) => (req) => {
    attempts.push(req.method.name);
    return next(req);
  };
  const retry = createRetryInterceptor(resolveRetryOptions({ maxAttempts: 3, initialBackoffMs: 1, maxBackoffMs: 2 }));
  return { attempts, transport: createGrpcTransport({ baseUrl, interceptors: [retry, count] }) };
}

describe("createRetryInterceptor", () => {
  it("retries a read-only call on UNAVAILABLE", async () => {
    const { attempts, transport } = transportCountingAttempts(await deadPort());
    const client = createClient(MarketDataService, transport);
    await assert.rejects(client.listSymbols({}), (error) => ConnectError.from(error).code === Code.Unavailable);
    assert.deepEqual(attempts, ["ListSymbols", "ListSymbols", "ListSymbols"]);
  });

  it("never retries a write, which could apply twice", async () => {
    const { attempts, transport } = transportCountingAttempts(await deadPort());
    const client = createClient(MarketFeedService, transport);
    await assert.rejects(client.publishTicks({ ticks: [{ symbolId: 13, ltp: 1 }] }), (error) => ConnectError.from(error).code === Code.Unavailable);
    assert.deepEqual(attempts, ["PublishTicks"]);
  });

  it("never retries a stream", async () => {
    const { attempts, transport } = transportCountingAttempts(await deadPort());
    const client = createClient(MarketDataService, transport);
    await assert.rejects(async () => {
      for await (const _ of client.subscribeSnapshots({ symbolIds: [13] })) break;
    });
    assert.deepEqual(attempts, ["SubscribeSnapshots"]);
  });
});

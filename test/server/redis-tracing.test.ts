import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { after, before, describe, it } from "node:test";
import { createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { context, SpanKind } from "@opentelemetry/api";
import { AsyncLocalStorageContextManager } from "@opentelemetry/context-async-hooks";
import { W3CTraceContextPropagator } from "@opentelemetry/core";
import { InMemorySpanExporter, SimpleSpanProcessor, TracerProvider } from "@opentelemetry/sdk-trace";
import { MarketDataService } from "../../src/gen/stockify/v1/market_data_service_pb.js";
import { traceRedisCommands } from "../../src/server/redis-tracing.js";
import { startGateway, type TestGateway } from "../support/gateway.js";
import { startRedis, type TestRedis } from "../support/redis-server.js";
import { waitFor } from "../support/transports.js";

describe("Redis spans (traceRedisCommands)", () => {
  const exporter = new InMemorySpanExporter();
  const provider = new TracerProvider({ spanProcessors: [new SimpleSpanProcessor({ exporter })] });
  const tracer = provider.getTracer("test");
  let redis: TestRedis;
  let gateway: TestGateway;
  let stopTracing: () => void;
  before(async () => {
    context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
    redis = await startRedis();
    stopTracing = traceRedisCommands(tracer);
    gateway = await startGateway({ REDIS_URL: redis.url }, { tracing: { tracer, propagator: new W3CTraceContextPropagator() } });
  });
  after(async () => {
    stopTracing();
    await gateway?.close();
    await redis?.stop();
    context.disable();
  });

  it("makes each Redis round trip of a call a client span under the call's span: client -> gateway -> Redis", async () => {
    const traceId = randomBytes(16).toString("hex");
    const callerSpanId = randomBytes(8).toString("hex");
    const client = createClient(MarketDataService, createGrpcTransport({ baseUrl: gateway.baseUrl }));
    await client.getSnapshot({ symbolId: 13 }, { headers: { traceparent: `00-${traceId}-${callerSpanId}-01` } });
    const ofTrace = () => exporter.getFinishedSpans().filter((span) => span.spanContext().traceId === traceId);
    await waitFor(() => ofTrace().some((span) => span.kind === SpanKind.CLIENT), 5000, "a Redis span in the call's trace");
    const server = ofTrace().find((span) => span.kind === SpanKind.SERVER);
    assert.ok(server, "no span for the call");
    assert.equal(server.parentSpanContext?.spanId, callerSpanId);
    const redisSpans = ofTrace().filter((span) => span.kind === SpanKind.CLIENT);
    for (const span of redisSpans) {
      assert.equal(span.parentSpanContext?.spanId, server.spanContext().spanId);
      assert.equal(span.attributes["db.system.name"], "redis");
      assert.equal(span.attributes["server.port"], redis.port);
      assert.equal(span.name, span.attributes["db.operation.name"]);
    }
    // The tree, as a trace viewer would draw it.
    console.log(
      [`caller ${callerSpanId}`, `└─ ${server.name} (gateway)`, ...redisSpans.map((span) => `   └─ ${span.name} (redis)`)].join("\n"),
    );
  });

  it("makes no span of a command sent outside any span, such as a keepalive PING", async () => {
    exporter.reset();
    assert.equal(await redis.client().ping(), "PONG");
    assert.deepEqual(exporter.getFinishedSpans(), []);
  });

  it("stops making spans once told to", async () => {
    stopTracing();
    exporter.reset();
    const client = createClient(MarketDataService, createGrpcTransport({ baseUrl: gateway.baseUrl }));
    await client.getSnapshot({ symbolId: 13 });
    await waitFor(() => exporter.getFinishedSpans().some((span) => span.kind === SpanKind.SERVER), 5000, "the call's span");
    assert.deepEqual(exporter.getFinishedSpans().filter((span) => span.kind === SpanKind.CLIENT), []);
  });
});

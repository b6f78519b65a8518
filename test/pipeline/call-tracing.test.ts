import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { after, before, describe, it } from "node:test";
import { Code, ConnectError, createClient, type Interceptor } from "@connectrpc/connect";
import { context, SpanKind, SpanStatusCode } from "@opentelemetry/api";
import { AsyncLocalStorageContextManager } from "@opentelemetry/context-async-hooks";
import { W3CTraceContextPropagator } from "@opentelemetry/core";
import { InMemorySpanExporter, SimpleSpanProcessor, TracerProvider, type ReadableSpan } from "@opentelemetry/sdk-trace";
import { MarketDataService } from "../../src/gen/stockify/v1/market_data_service_pb.js";
import { samplerFromEnvironment, tracingFromEnvironment } from "../../src/server/tracing.js";
import { startGateway, type TestGateway } from "../support/gateway.js";
import { GRPC_LANES } from "../support/grpc-lanes.js";
import { TRANSPORTS, waitFor } from "../support/transports.js";

const exporter = new InMemorySpanExporter();
const provider = new TracerProvider({ spanProcessors: [new SimpleSpanProcessor({ exporter })] });
const tracer = provider.getTracer("test");
const propagator = new W3CTraceContextPropagator();

/** A caller's span: what its traceparent names, as a client library would send it. */
function callerSpan(): { traceId: string; spanId: string; headers: Record<string, string> } {
  const traceId = randomBytes(16).toString("hex");
  const spanId = randomBytes(8).toString("hex");
  return { traceId, spanId, headers: { traceparent: `00-${traceId}-${spanId}-01`, tracestate: "desk=fx,stockify=t" } };
}

/** The finished spans of one trace. */
function spansOf(traceId: string): ReadableSpan[] {
  return exporter.getFinishedSpans().filter((span) => span.spanContext().traceId === traceId);
}

/** Waits for the gateway's span of a trace (a stream's ends a moment after the client leaves). */
async function serverSpanOf(traceId: string, name: string): Promise<ReadableSpan> {
  await waitFor(() => spansOf(traceId).some((span) => span.name === name), 5000, `the span ${name}`);
  return spansOf(traceId).find((span) => span.name === name)!;
}

/** Asserts a span is the gateway's side of a call the caller made in its own span. */
function assertChildOfCaller(span: ReadableSpan, caller: { traceId: string; spanId: string }): void {
  assert.equal(span.kind, SpanKind.SERVER);
  assert.equal(span.spanContext().traceId, caller.traceId);
  assert.equal(span.parentSpanContext?.spanId, caller.spanId);
  assert.equal(span.parentSpanContext?.isRemote, true);
  // tracestate travels with the trace, as W3C Trace Context asks.
  assert.equal(span.spanContext().traceState?.get("desk"), "fx");
}

/** Starts a span inside the service call, where a store round trip would start its own. */
const innerSpan: Interceptor = (next) => async (req) => {
  const span = tracer.startSpan("inner", {}, context.active());
  try {
    return await next(req);
  } finally {
    span.end();
  }
};

before(() => {
  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
});
after(() => {
  context.disable();
});

for (const lane of GRPC_LANES) {
  describe(`call tracing (${lane.name})`, () => {
    let gateway: TestGateway;
    before(async () => {
      gateway = await startGateway(lane.env, { tracing: { tracer, propagator }, interceptors: [innerSpan] });
    });
    after(() => gateway.close());

    for (const transport of TRANSPORTS) {
      it(`continues the caller's trace on a unary call over ${transport.name}`, async () => {
        const client = createClient(MarketDataService, transport.create(gateway.baseUrl));
        const caller = callerSpan();
        await client.getSnapshot({ symbolId: 13 }, { headers: caller.headers });
        const span = await serverSpanOf(caller.traceId, "stockify.v1.MarketDataService/GetSnapshot");
        assertChildOfCaller(span, caller);
        const grpc = transport.name.startsWith("gRPC");
        assert.deepEqual(span.attributes, {
          "rpc.system": grpc ? "grpc" : "connect_rpc",
          "rpc.service": "stockify.v1.MarketDataService",
          "rpc.method": "GetSnapshot",
          "rpc.grpc.status_code": 0,
        });
        assert.equal(span.status.code, SpanStatusCode.UNSET);
        // The handler ran in the call's span: what it starts is the call's child.
        const inner = spansOf(caller.traceId).find((candidate) => candidate.name === "inner");
        assert.equal(inner?.parentSpanContext?.spanId, span.spanContext().spanId);
      });
    }

    it("records a client's mistake as the call's status, not as a gateway error", async () => {
      const client = createClient(MarketDataService, TRANSPORTS[0]!.create(gateway.baseUrl));
      const caller = callerSpan();
      await assert.rejects(client.getSnapshot({ symbolId: 999_999 }, { headers: caller.headers }), (error: unknown) => {
        return ConnectError.from(error).code === Code.NotFound;
      });
      const span = await serverSpanOf(caller.traceId, "stockify.v1.MarketDataService/GetSnapshot");
      assert.equal(span.attributes["rpc.grpc.status_code"], Code.NotFound);
      assert.equal(span.status.code, SpanStatusCode.UNSET);
    });

    it("ends a stream's span when the caller leaves the stream", async () => {
      const client = createClient(MarketDataService, TRANSPORTS[0]!.create(gateway.baseUrl));
      const caller = callerSpan();
      const abort = new AbortController();
      for await (const _event of client.subscribeSnapshots({ symbolIds: [13] }, { headers: caller.headers, signal: abort.signal })) {
        assert.equal(spansOf(caller.traceId).filter((span) => span.name.endsWith("/SubscribeSnapshots")).length, 0);
        break;
      }
      abort.abort();
      const span = await serverSpanOf(caller.traceId, "stockify.v1.MarketDataService/SubscribeSnapshots");
      assertChildOfCaller(span, caller);
      assert.equal(span.attributes["rpc.grpc.status_code"], Code.Canceled);
    });

    it("starts a new trace for a caller that sends none", async () => {
      const client = createClient(MarketDataService, TRANSPORTS[0]!.create(gateway.baseUrl));
      exporter.reset();
      await client.listSymbols({});
      const span = exporter.getFinishedSpans().find((candidate) => candidate.name === "stockify.v1.MarketDataService/ListSymbols");
      assert.ok(span, "no span for the call");
      assert.equal(span.parentSpanContext, undefined);
    });
  });
}

describe("call tracing over REST", () => {
  let gateway: TestGateway;
  before(async () => {
    gateway = await startGateway({}, { tracing: { tracer, propagator } });
  });
  after(() => gateway.close());

  it("continues the caller's trace with HTTP attributes", async () => {
    const caller = callerSpan();
    const response = await fetch(`${gateway.baseUrl}/v1/snapshots/13`, { headers: caller.headers });
    assert.equal(response.status, 200);
    const span = await serverSpanOf(caller.traceId, "stockify.v1.MarketDataService/GetSnapshot");
    assertChildOfCaller(span, caller);
    assert.equal(span.attributes["rpc.system"], "http");
    assert.equal(span.attributes["http.request.method"], "GET");
    assert.equal(span.attributes["url.path"], "/v1/snapshots/13");
    assert.equal(span.attributes["http.response.status_code"], 200);
  });

  it("gives an unknown symbol's 404 to the span", async () => {
    const caller = callerSpan();
    const response = await fetch(`${gateway.baseUrl}/v1/snapshots/999999`, { headers: caller.headers });
    assert.equal(response.status, 404);
    const span = await serverSpanOf(caller.traceId, "stockify.v1.MarketDataService/GetSnapshot");
    assert.equal(span.attributes["http.response.status_code"], 404);
  });
});

describe("tracing off", () => {
  let traced: TestGateway;
  let untraced: TestGateway;
  before(async () => {
    traced = await startGateway({}, { tracing: { tracer, propagator } });
    untraced = await startGateway();
  });
  after(async () => {
    await traced.close();
    await untraced.close();
  });

  it("leaves the tracing interceptor out of the chain when no OTEL_* variable asks for it", () => {
    assert.equal(untraced.app.services.interceptors.length, traced.app.services.interceptors.length - 1);
  });

  it("starts tracing only when the environment names an exporter, and never when it turns the SDK off", () => {
    assert.equal(tracingFromEnvironment({}), undefined);
    assert.equal(tracingFromEnvironment({ OTEL_SERVICE_NAME: "gw" }), undefined);
    assert.equal(tracingFromEnvironment({ OTEL_EXPORTER_OTLP_ENDPOINT: "http://127.0.0.1:4318", OTEL_SDK_DISABLED: "true" }), undefined);
    assert.equal(tracingFromEnvironment({ OTEL_EXPORTER_OTLP_ENDPOINT: "http://127.0.0.1:4318", OTEL_TRACES_EXPORTER: "none" }), undefined);
    const on = tracingFromEnvironment({ OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: "http://127.0.0.1:4318/v1/traces" });
    assert.ok(on);
    return on.shutdown();
  });

  it("reads the sampler from OTEL_TRACES_SAMPLER", () => {
    assert.match(samplerFromEnvironment({}).toString(), /ParentBased\{root=AlwaysOnSampler/);
    assert.match(samplerFromEnvironment({ OTEL_TRACES_SAMPLER: "always_off" }).toString(), /AlwaysOffSampler/);
    assert.match(
      samplerFromEnvironment({ OTEL_TRACES_SAMPLER: "parentbased_traceidratio", OTEL_TRACES_SAMPLER_ARG: "0.25" }).toString(),
      /TraceIdRatioBased\{0\.25\}/,
    );
  });
});

import { Code, ConnectError, createContextKey, createContextValues } from "@connectrpc/connect";
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { MarketDataService } from "../../src/gen/stockify/v1/market_data_service_pb.js";
import { CallControl, type CallContextInit } from "../../src/pipeline/call-context.js";
import { callProtocolKey } from "../../src/pipeline/call-protocol.js";

const INIT: CallContextInit = {
  service: MarketDataService,
  method: MarketDataService.method.getSnapshot,
  protocol: "grpc",
  requestMethod: "POST",
  url: "/stockify.v1.MarketDataService/GetSnapshot",
  rawHeaders: { ":path": "/stockify.v1.MarketDataService/GetSnapshot", authorization: "Bearer t", "x-many": ["a", "b"] },
};

describe("CallContext", () => {
  it("is what Connect's HandlerContext is, and no more", () => {
    const { context } = new CallControl(INIT);
    assert.equal(context.service, MarketDataService);
    assert.equal(context.method, MarketDataService.method.getSnapshot);
    assert.equal(context.protocolName, "grpc");
    assert.equal(context.requestMethod, "POST");
    assert.equal(context.url, INIT.url);
    assert.equal(context.values.get(callProtocolKey), "grpc");
    // No lane bookkeeping a handler could read or change.
    for (const name of ["answered", "abort", "done", "ownRequest", "ownResponse", "trailerIfAny", "control"]) {
      assert.equal(name in context, false, name);
    }
    assert.deepEqual(Object.keys(context).sort(), ["method", "protocolName", "requestMethod", "service", "timeoutMs", "url", "values"]);
  });

  it("keeps the values it started with", () => {
    const key = createContextKey("none");
    const { context } = new CallControl({ ...INIT, values: createContextValues().set(key, "given") });
    assert.equal(context.values.get(key), "given");
    assert.equal(context.values.get(callProtocolKey), "grpc");
  });

  it("gives the request headers without HTTP/2 pseudo-headers", () => {
    const { context } = new CallControl(INIT);
    assert.equal(context.requestHeader.get("authorization"), "Bearer t");
    assert.equal(context.requestHeader.get("x-many"), "a, b");
    assert.deepEqual([...context.requestHeader.keys()], ["authorization", "x-many"]);
  });

  it("tells the time left to its deadline, even detached from the context", () => {
    const control = new CallControl({ ...INIT, timeoutMs: 10_000 });
    const { timeoutMs } = control.context;
    const left = timeoutMs();
    assert.ok(left !== undefined && left > 9_000 && left <= 10_000);
    assert.equal(new CallControl(INIT).context.timeoutMs(), undefined);
    control.done();
  });
});

describe("CallControl", () => {
  it("builds headers only when something asks for them", () => {
    const control = new CallControl(INIT);
    assert.equal(control.requestHeaderIfAny, undefined);
    assert.equal(control.responseHeaderIfAny, undefined);
    assert.equal(control.trailerIfAny, undefined);
    control.context.responseHeader.set("x-h", "1");
    control.context.responseTrailer.set("x-t", "2");
    void control.context.requestHeader;
    const [header, trailer] = [control.responseHeaderIfAny as Headers | undefined, control.trailerIfAny as Headers | undefined];
    assert.equal(header?.get("x-h"), "1");
    assert.equal(trailer?.get("x-t"), "2");
    assert.equal(control.requestHeaderIfAny, control.context.requestHeader);
  });

  it("gives the handler the request headers an interceptor replaced", () => {
    const control = new CallControl(INIT);
    const replaced = new Headers({ authorization: "Bearer other" });
    control.replaceRequestHeader(replaced);
    assert.equal(control.context.requestHeader, replaced);
  });

  it("ends the signal once, with the first reason", () => {
    const control = new CallControl(INIT);
    const signal = control.context.signal;
    assert.equal(signal, control.signal);
    assert.equal(signal.aborted, false);
    const first = new ConnectError("first", Code.Canceled);
    control.abort(first);
    control.abort(new Error("second"));
    assert.equal(signal.aborted, true);
    assert.equal(signal.reason, first);
  });

  it("aborts with DEADLINE_EXCEEDED at the deadline and says so", async () => {
    let told: ConnectError | undefined;
    const control = new CallControl({ ...INIT, timeoutMs: 20, onTimeout: (error) => (told = error) });
    await new Promise((resolve) => control.context.signal.addEventListener("abort", resolve, { once: true }));
    assert.equal((control.signal.reason as ConnectError).code, Code.DeadlineExceeded);
    assert.equal(told, control.signal.reason);
  });

  it("stops its deadline when done, or when aborted for another reason", async () => {
    let told = 0;
    const done = new CallControl({ ...INIT, timeoutMs: 20, onTimeout: () => told++ });
    done.done();
    const aborted = new CallControl({ ...INIT, timeoutMs: 20, onTimeout: () => told++ });
    aborted.abort(new ConnectError("gone", Code.Canceled));
    await new Promise((resolve) => setTimeout(resolve, 60));
    assert.equal(told, 0);
    assert.equal(done.signal.aborted, false);
    assert.equal((aborted.signal.reason as ConnectError).code, Code.Canceled);
  });
});

import { create, isMessage } from "@bufbuild/protobuf";
import { Code, ConnectError, createServiceImplSpec, type HandlerContext, type Interceptor, type MethodImplSpec } from "@connectrpc/connect";
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  GetSnapshotRequestSchema,
  GetSnapshotResponseSchema,
  MarketDataService,
  SubscribeSnapshotsRequestSchema,
  type GetSnapshotResponse,
  type SubscribeSnapshotsResponse,
} from "../../src/gen/stockify/v1/market_data_service_pb.js";
import { CallControl } from "../../src/pipeline/call-context.js";
import { abortedSignalOf, createCallPipeline, normalize } from "../../src/pipeline/call-pipeline.js";

const seen: { symbolId: number; context: HandlerContext; authorization: string | null }[] = [];

const specs = createServiceImplSpec<typeof MarketDataService>(MarketDataService, {
  getSnapshot(request, context) {
    seen.push({ symbolId: request.symbolId, context, authorization: context.requestHeader.get("authorization") });
    if (request.symbolId === 0) throw new ConnectError("symbol_id must be set", Code.InvalidArgument);
    if (request.symbolId === 7) {
      context.responseHeader.set("x-handler", "h");
      context.responseTrailer.set("x-handler-trailer", "t");
    }
    // An init object, as handlers may return.
    return { snapshot: { symbolId: request.symbolId } };
  },
  async *subscribeSnapshots(request, context) {
    context.responseHeader.set("x-stream", "s");
    for (const symbolId of request.symbolIds) yield { event: { case: "snapshot" as const, value: { symbolId } } };
  },
}).methods;

const control = (authorization?: string) =>
  new CallControl({
    service: MarketDataService,
    method: MarketDataService.method.getSnapshot,
    protocol: "grpc",
    requestMethod: "POST",
    url: "/stockify.v1.MarketDataService/GetSnapshot",
    rawHeaders: authorization === undefined ? {} : { authorization },
  });

const get = (symbolId: number) => create(GetSnapshotRequestSchema, { symbolId });

describe("createCallPipeline", () => {
  it("gives every request and response the same accessor functions, not closures of their own", async () => {
    // Per-call getter closures give each object a map of its own, which kept
    // every call alive past the young-generation collections under load.
    const requests: object[] = [];
    const responses: object[] = [];
    const capture: Interceptor = (next) => async (req) => {
      requests.push(req);
      const res = await next(req);
      responses.push(res);
      return res;
    };
    const pipeline = createCallPipeline(specs.getSnapshot, [capture]);
    await pipeline.unary(control("Bearer a"), get(21));
    await pipeline.unary(control("Bearer b"), get(22));
    const getter = (o: object, name: string) => Object.getOwnPropertyDescriptor(o, name)?.get;
    for (const name of ["signal", "header"]) {
      assert.equal(typeof getter(requests[0]!, name), "function");
      assert.equal(getter(requests[0]!, name), getter(requests[1]!, name), `request ${name}`);
    }
    for (const name of ["header", "trailer"]) {
      assert.equal(typeof getter(responses[0]!, name), "function");
      assert.equal(getter(responses[0]!, name), getter(responses[1]!, name), `response ${name}`);
    }
    // Each still answers for its own call.
    assert.equal((requests[0] as { header: Headers }).header.get("authorization"), "Bearer a");
    assert.equal((requests[1] as { header: Headers }).header.get("authorization"), "Bearer b");
    // A spread copy (as interceptors make) keeps the values.
    assert.equal(({ ...requests[1] } as { header: Headers }).header.get("authorization"), "Bearer b");
  });

  it("runs the interceptors outermost first, then the implementation", async () => {
    const order: string[] = [];
    const named =
      (name: string): Interceptor =>
      (next) =>
      async (req) => {
        order.push(`${name} in`);
        const res = await next(req);
        order.push(`${name} out`);
        return res;
      };
    const pipeline = createCallPipeline(specs.getSnapshot, [named("outer"), named("inner")]);
    const response = await pipeline.unary(control(), get(13));
    assert.deepEqual(order, ["outer in", "inner in", "inner out", "outer out"]);
    assert.ok(isMessage(response.message, GetSnapshotResponseSchema), "the init object became a message");
    assert.equal((response.message as GetSnapshotResponse).snapshot?.symbolId, 13);
  });

  it("gives the implementation the call's read-only context", async () => {
    const call = control("Bearer t");
    await createCallPipeline(specs.getSnapshot, []).unary(call, get(14));
    const mine = seen.find((s) => s.symbolId === 14)!;
    assert.equal(mine.context, call.context);
    assert.equal(mine.authorization, "Bearer t");
  });

  it("gives interceptors a request whose signal and headers are the call's", async () => {
    const call = control("Bearer t");
    let signal: AbortSignal | undefined;
    let authorization: string | null = null;
    const look: Interceptor = (next) => async (req) => {
      signal = req.signal;
      authorization = req.header.get("authorization");
      assert.equal(req.contextValues, call.context.values);
      assert.equal(req.method, MarketDataService.method.getSnapshot);
      return next(req);
    };
    await createCallPipeline(specs.getSnapshot, [look]).unary(call, get(13));
    assert.equal(signal, call.signal);
    assert.equal(authorization, "Bearer t");
  });

  it("builds no headers for a call that never asks for them", async () => {
    const call = control("Bearer t");
    const response = await createCallPipeline(specs.getSnapshot, [(next) => (req) => next(req)]).unary(call, get(15));
    assert.equal(response.header(), undefined);
    assert.equal(response.trailer(), undefined);
    // The implementation read one header, so the request headers exist; nothing else does.
    assert.equal(call.responseHeaderIfAny, undefined);
  });

  it("tells whether a call was aborted without building the signal of one that was not", async () => {
    const call = control();
    let built = 0;
    const signalOf = Object.getOwnPropertyDescriptor(CallControl.prototype, "signal")!.get!;
    Object.defineProperty(call, "signal", {
      get: () => {
        built++;
        return signalOf.call(call);
      },
    });
    const requests: Parameters<typeof abortedSignalOf>[0][] = [];
    const keep: Interceptor = (next) => (req) => {
      requests.push(req, { ...req });
      return next(req);
    };
    await createCallPipeline(specs.getSnapshot, [keep]).unary(call, get(18));
    // The spread copy read the signal once; asking again builds nothing more.
    const before = built;
    assert.equal(abortedSignalOf(requests[0]!), undefined);
    assert.equal(built, before);
    const reason = new ConnectError("gone", Code.Canceled);
    call.abort(reason);
    for (const req of requests) assert.equal(abortedSignalOf(req)?.reason, reason);
    // A request of another making answers by its own signal.
    const controller = new AbortController();
    assert.equal(abortedSignalOf({ signal: controller.signal }), undefined);
    controller.abort("stop");
    assert.equal(abortedSignalOf({ signal: controller.signal })?.reason, "stop");
  });

  it("answers with the metadata the implementation and interceptors set", async () => {
    const stamp: Interceptor = (next) => async (req) => {
      const res = await next(req);
      res.header.set("x-interceptor", "i");
      return res;
    };
    const response = await createCallPipeline(specs.getSnapshot, [stamp]).unary(control(), get(7));
    assert.equal(response.header()?.get("x-handler"), "h");
    assert.equal(response.header()?.get("x-interceptor"), "i");
    assert.equal(response.trailer()?.get("x-handler-trailer"), "t");
  });

  it("answers with the metadata of a response an interceptor made itself", async () => {
    const own: Interceptor = (next) => async (req) => {
      const res = await next(req);
      return { ...res, header: new Headers({ "x-own": "o" }), trailer: new Headers({ "x-own-trailer": "t" }) };
    };
    const response = await createCallPipeline(specs.getSnapshot, [own]).unary(control(), get(7));
    assert.equal(response.header()?.get("x-own"), "o");
    assert.equal(response.header()?.get("x-handler"), null);
    assert.equal(response.trailer()?.get("x-own-trailer"), "t");
  });

  it("gives the implementation the headers of a request an interceptor rebuilt", async () => {
    const swap: Interceptor = (next) => (req) => next({ ...req, header: new Headers({ authorization: "Bearer swapped" }) });
    await createCallPipeline(specs.getSnapshot, [swap]).unary(control("Bearer t"), get(16));
    assert.equal(seen.find((s) => s.symbolId === 16)?.authorization, "Bearer swapped");
  });

  it("lets an error of the implementation or an interceptor through", async () => {
    await assert.rejects(createCallPipeline(specs.getSnapshot, []).unary(control(), get(0)), (e: unknown) => {
      return e instanceof ConnectError && e.code === Code.InvalidArgument;
    });
    const deny: Interceptor = () => () => Promise.reject(new ConnectError("denied", Code.PermissionDenied));
    await assert.rejects(createCallPipeline(specs.getSnapshot, [deny]).unary(control(), get(13)), (e: unknown) => {
      return e instanceof ConnectError && e.code === Code.PermissionDenied;
    });
  });

  it("starts a server stream with its one request, and answers with the stream", async () => {
    const input = create(SubscribeSnapshotsRequestSchema, { symbolIds: [13, 25] });
    let streamed = false;
    const look: Interceptor = (next) => (req) => {
      streamed = req.stream;
      return next(req);
    };
    const response = await createCallPipeline(specs.subscribeSnapshots, [look]).serverStream(control(), input);
    assert.equal(streamed, true);
    const ids: number[] = [];
    for await (const message of response.message) {
      const event = (message as SubscribeSnapshotsResponse).event;
      if (event.case === "snapshot") ids.push(event.value.symbolId);
    }
    assert.deepEqual(ids, [13, 25]);
    // Set before the first message, as a stream's headers must be.
    assert.equal(response.header()?.get("x-stream"), "s");
  });

  it("refuses a server stream whose request an interceptor emptied", async () => {
    const empty: Interceptor = (next) => (req) => next({ ...req, message: (async function* () {})() } as typeof req);
    const input = create(SubscribeSnapshotsRequestSchema, { symbolIds: [13] });
    await assert.rejects(createCallPipeline(specs.subscribeSnapshots, [empty]).serverStream(control(), input), (e: unknown) => {
      return e instanceof ConnectError && e.code === Code.Unimplemented;
    });
  });

  it("serves only unary and server-streaming methods", () => {
    assert.throws(() => createCallPipeline(specs.streamMarketData as MethodImplSpec, []), /does not serve bidi_streaming methods/);
  });
});

describe("normalize", () => {
  it("keeps a message and makes one of an init object", () => {
    const message = create(GetSnapshotResponseSchema);
    assert.equal(normalize(GetSnapshotResponseSchema, message), message);
    assert.ok(isMessage(normalize(GetSnapshotResponseSchema, { snapshot: { symbolId: 1 } }), GetSnapshotResponseSchema));
  });
});

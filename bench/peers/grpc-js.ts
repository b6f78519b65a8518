// An @grpc/grpc-js server as a bench peer: the same market, the same
// service implementation (src/services) and the same protobuf-es messages
// as the gateway; only the RPC server differs. With BENCH_FANOUT=naive,
// PublishTicks and SubscribeSnapshots are instead the hand-written fan-out
// a grpc-js user would start from (naive-fanout.ts): the external-feed
// scenario's peer.
import { once } from "node:events";
import { create, fromBinary, toBinary, type DescMessage, type DescMethod, type DescService } from "@bufbuild/protobuf";
import { ConnectError, createHandlerContext, type HandlerContext } from "@connectrpc/connect";
import * as grpc from "@grpc/grpc-js";
import { importBuilt } from "../lib/built.js";
import { allocationSampler } from "../lib/allocation-sampler.js";
import { serveParent } from "../lib/child.js";
import { benchConfig, marketControl, seedTicks } from "./bench-market.js";
import { createNaiveFanout } from "./naive-fanout.js";

type AnyImpl = Record<string, (request: unknown, context: HandlerContext) => unknown>;

// The service code as the gateway's build has it, like the gateway peer's.
const { MarketDataService } = await importBuilt<typeof import("../../src/gen/stockify/v1/market_data_service_pb.js")>("gen/stockify/v1/market_data_service_pb.js");
const { MarketFeedService } = await importBuilt<typeof import("../../src/gen/stockify/v1/market_feed_service_pb.js")>("gen/stockify/v1/market_feed_service_pb.js");
const { Market } = await importBuilt<typeof import("../../src/market/market.js")>("market/market.js");
const { MemorySnapshotStore } = await importBuilt<typeof import("../../src/market/memory-store.js")>("market/memory-store.js");
const { createMarketDataService } = await importBuilt<typeof import("../../src/services/market-data-service.js")>("services/market-data-service.js");
const { createMarketFeedService } = await importBuilt<typeof import("../../src/services/market-feed-service.js")>("services/market-feed-service.js");

const config = benchConfig();
const market = new Market(new MemorySnapshotStore(), {
  bufferSize: config.streamBufferSize,
  overflow: config.slowConsumerPolicy,
}, { heartbeatMs: config.heartbeatMs });
await market.ingest(seedTicks());
const implementation = createMarketDataService(market, { maxSymbolsPerCall: config.maxSymbolsPerCall }) as unknown as AnyImpl;
const feedImplementation = createMarketFeedService(market) as unknown as AnyImpl;
const naive = process.env.BENCH_FANOUT === "naive" ? createNaiveFanout() : undefined;

const server = new grpc.Server();
for (const [service, impl] of [[MarketDataService, implementation], [MarketFeedService, feedImplementation]] as const) {
  const definition: Record<string, grpc.MethodDefinition<unknown, unknown>> = {};
  const handlers: grpc.UntypedServiceImplementation = {};
  for (const method of service.methods) {
    if (method.methodKind !== "unary" && method.methodKind !== "server_streaming") continue;
    definition[method.name] = methodDefinition(method);
    const naiveHandler = naive?.[method.localName as keyof typeof naive];
    handlers[method.name] =
      naiveHandler !== undefined
        ? (naiveHandler as grpc.UntypedHandleCall)
        : method.methodKind === "unary"
          ? unaryHandler(service, method, impl[method.localName]!)
          : streamHandler(service, method, impl[method.localName]!);
  }
  server.addService(definition, handlers);
}
const port = await new Promise<number>((resolve, reject) =>
  server.bindAsync("127.0.0.1:0", grpc.ServerCredentials.createInsecure(), (error, bound) => (error ? reject(error) : resolve(bound))),
);
process.once("SIGTERM", () => server.tryShutdown(() => process.exit(0)));
serveParent({ port }, { ...marketControl(market), ...allocationSampler() });

function methodDefinition(method: DescMethod): grpc.MethodDefinition<unknown, unknown> {
  const input = method.input as DescMessage;
  const output = method.output as DescMessage;
  return {
    path: `/${method.parent.typeName}/${method.name}`,
    requestStream: false,
    responseStream: method.methodKind === "server_streaming",
    requestSerialize: (value) => Buffer.from(toBinary(input, create(input, value as never))),
    requestDeserialize: (bytes) => fromBinary(input, bytes),
    responseSerialize: (value) => Buffer.from(toBinary(output, create(output, value as never))),
    responseDeserialize: (bytes) => fromBinary(output, bytes),
  };
}

function context(service: DescService, method: DescMethod, signal?: AbortSignal) {
  return createHandlerContext({
    service,
    method,
    protocolName: "grpc",
    requestMethod: "POST",
    url: `/${service.typeName}/${method.name}`,
    requestSignal: signal,
  });
}

function unaryHandler(service: DescService, method: DescMethod, impl: AnyImpl[string]): grpc.handleUnaryCall<unknown, unknown> {
  return (call, callback) => {
    Promise.resolve()
      .then(() => impl(call.request, context(service, method)))
      .then(
        (response) => callback(null, response),
        (error: unknown) => callback(grpcError(error)),
      );
  };
}

function streamHandler(service: DescService, method: DescMethod, impl: AnyImpl[string]): grpc.handleServerStreamingCall<unknown, unknown> {
  return (call) => {
    const aborter = new AbortController();
    call.on("cancelled", () => aborter.abort());
    const run = async () => {
      const responses = impl(call.request, context(service, method, aborter.signal)) as AsyncIterable<unknown>;
      for await (const response of responses) {
        if (!call.write(response)) await once(call, "drain", { signal: aborter.signal });
      }
      call.end();
    };
    run().catch((error: unknown) => {
      if (!aborter.signal.aborted) call.emit("error", grpcError(error));
    });
  };
}

function grpcError(error: unknown): Partial<grpc.StatusObject> {
  // Connect's codes are gRPC's codes, number for number.
  const connectError = ConnectError.from(error);
  return { code: connectError.code as number as grpc.status, details: connectError.rawMessage };
}

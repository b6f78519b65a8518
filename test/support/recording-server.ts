import * as http2 from "node:http2";
import type { AddressInfo } from "node:net";
import { create } from "@bufbuild/protobuf";
import type { ConnectRouter } from "@connectrpc/connect";
import { connectNodeAdapter } from "@connectrpc/connect-node";
import {
  MarketDataService,
  StreamMarketDataResponseSchema,
  SubscribeSnapshotsResponseSchema,
  type StreamMarketDataRequest,
  type SubscribeSnapshotsRequest,
} from "../../src/gen/stockify/v1/market_data_service_pb.js";

/**
 * startRecordingServer starts a MarketDataService that records the requests
 * of both streaming calls and answers each with one snapshot or an
 * acknowledgement, so that a test reads a client's requests exactly as they
 * arrived.
 */
export async function startRecordingServer() {
  const subscribes: SubscribeSnapshotsRequest[] = [];
  const streamRequests: StreamMarketDataRequest[][] = [];
  const sessions = new Set<http2.ServerHttp2Session>();
  const routes = (router: ConnectRouter) =>
    router.service(MarketDataService, {
      async *subscribeSnapshots(request, context) {
        subscribes.push(request);
        yield create(SubscribeSnapshotsResponseSchema, {
          event: { case: "snapshot", value: { symbolId: request.symbolIds[0] ?? 0, sequence: 1n } },
        });
        await new Promise((resolve) => context.signal.addEventListener("abort", resolve, { once: true }));
      },
      async *streamMarketData(requests) {
        const call: StreamMarketDataRequest[] = [];
        streamRequests.push(call);
        const active = new Set<number>();
        for await (const request of requests) {
          call.push(request);
          if (request.action.case !== "subscribe") continue;
          for (const id of request.action.value.symbolIds) active.add(id);
          yield create(StreamMarketDataResponseSchema, {
            event: {
              case: "subscription",
              value: { subscribedSymbolIds: request.action.value.symbolIds, activeSymbolIds: [...active].sort((a, b) => a - b) },
            },
          });
        }
      },
    });
  const server = http2.createServer(connectNodeAdapter({ routes }));
  server.on("session", (session) => sessions.add(session));
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    baseUrl: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    subscribes,
    streamRequests,
    /** Drops every connection, as a gateway that goes away would. */
    dropConnections: () => {
      for (const session of sessions) session.destroy();
      sessions.clear();
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const session of sessions) session.destroy();
        server.close(() => resolve());
      }),
  };
}

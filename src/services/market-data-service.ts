import { create } from "@bufbuild/protobuf";
import { timestampNow } from "@bufbuild/protobuf/wkt";
import { Code, ConnectError, type HandlerContext, type ServiceImpl } from "@connectrpc/connect";
import {
  GetBatchSnapshotsResponseSchema,
  GetSnapshotResponseSchema,
  ListSymbolsResponseSchema,
  type MarketDataService,
  StreamMarketDataResponseSchema,
  SubscribeSnapshotsResponseSchema,
  type GetBatchSnapshotsRequest,
  type GetSnapshotRequest,
  type StreamMarketDataRequest,
  type StreamMarketDataResponse,
  type SubscribeSnapshotsRequest,
  type SubscribeSnapshotsResponse,
} from "../gen/stockify/v1/market_data_service_pb.js";
import { SnapshotMode, type Snapshot as SnapshotMessage } from "../gen/stockify/v1/snapshot_pb.js";
import { UnknownSymbolError } from "../market/errors.js";
import type { Market } from "../market/market.js";
import type { Snapshot } from "../market/snapshot.js";
import type { FieldMode } from "../market/field-mode.js";
import type { Subscription } from "../market/subscription.js";
import { toConnectError } from "./connect-errors.js";
import { pushedStream } from "../pipeline/pushed-stream.js";
import { snapshotMessage } from "./snapshot-messages.js";
import { checkSymbolIds } from "./symbol-ids.js";
import { identityCache } from "../pipeline/identity-cache.js";

/**
 * MarketDataServiceOptions configure the read path.
 */
export interface MarketDataServiceOptions {
  /** Most symbols one batch call or one stream may name. Default 1000. */
  maxSymbolsPerCall?: number;
}

/**
 * createMarketDataService implements stockify.v1.MarketDataService on a
 * market, once for every protocol the gateway speaks.
 */
export function createMarketDataService(
  market: Market,
  options: MarketDataServiceOptions = {},
): ServiceImpl<typeof MarketDataService> {
  const maxSymbols = options.maxSymbolsPerCall ?? 1000;

  return {
    async getSnapshot(request: GetSnapshotRequest) {
      if (request.symbolId === 0) {
        throw new ConnectError("symbol_id must not be 0", Code.InvalidArgument);
      }
      const snapshot = await market.get(request.symbolId).catch(rethrow);
      if (snapshot === undefined) {
        throw new ConnectError(`unknown symbol: ${request.symbolId}`, Code.NotFound);
      }
      return getSnapshotResponse(snapshot);
    },

    async getBatchSnapshots(request: GetBatchSnapshotsRequest) {
      const ids = checkSymbolIds(request.symbolIds, maxSymbols);
      const found = await market.getMany(ids).catch(rethrow);
      const snapshots: Record<number, SnapshotMessage> = {};
      const missingSymbolIds: number[] = [];
      for (let i = 0; i < ids.length; i++) {
        const snapshot = found[i];
        if (snapshot === undefined) missingSymbolIds.push(ids[i]!);
        else snapshots[ids[i]!] = snapshotMessage(snapshot);
      }
      return create(GetBatchSnapshotsResponseSchema, { snapshots, missingSymbolIds });
    },

    async listSymbols() {
      const all = await market.list().catch(rethrow);
      return create(ListSymbolsResponseSchema, {
        symbols: all.map((s) => ({ symbolId: s.symbolId, symbol: s.symbol })),
      });
    },

    subscribeSnapshots(request: SubscribeSnapshotsRequest, context: HandlerContext) {
      const interest = { mode: fieldModeOf(request.mode), maxUpdatesPerSecond: request.maxUpdatesPerSecond };
      return pushedStream<SubscribeSnapshotsResponse>((sink) => {
        const subscription = openSubscription(market, context);
        const start = async () => {
          const ids = checkSymbolIds(request.symbolIds, maxSymbols);
          // Register before reading, so no update falls between the read and
          // the subscription; the subscription keeps whichever copy is newer.
          subscription.add(ids, interest);
          const current = await market.getMany(ids).catch(rethrow);
          const missing = ids.filter((_, i) => current[i] === undefined);
          if (missing.length > 0) throw toConnectError(new UnknownSymbolError(missing));
          // Offered before attaching, so that a stream like others already
          // open joins their cohort from the latest snapshots.
          for (const snapshot of current) subscription.offer(snapshot!);
          subscription.attach({
            deliver: (updates) => sink.push(snapshotResponses(updates, interest.mode)),
            heartbeat: () => sink.push([heartbeatResponse()]),
            closed: (error) => sink.end(error === undefined ? undefined : toConnectError(error)),
          });
        };
        start().catch((error: unknown) => {
          sink.end(toConnectError(error));
          subscription.close();
        });
        return { resume: () => subscription.resume(), cancel: () => subscription.close() };
      });
    },

    async *streamMarketData(requests: AsyncIterable<StreamMarketDataRequest>, context: HandlerContext) {
      const subscription = openSubscription(market, context);
      // Control answers (acknowledgements, errors) and the latest updates
      // wait here for the reader; while updates wait, the subscription holds
      // further ones back and conflates them.
      const outbox: StreamMarketDataResponse[] = [];
      let updatesWaiting = false;
      let ended = false;
      let failure: unknown;
      let wake: (() => void) | undefined;
      const send = (response: StreamMarketDataResponse) => {
        outbox.push(response);
        wake?.();
      };
      subscription.attach({
        deliver(updates) {
          for (const update of updates) outbox.push(streamSnapshotResponse(update, subscription));
          updatesWaiting = true;
          wake?.();
          return false;
        },
        heartbeat() {
          send(create(StreamMarketDataResponseSchema, { event: { case: "heartbeat", value: { serverTime: timestampNow() } } }));
          updatesWaiting = true;
          return false;
        },
        closed(error) {
          ended = true;
          failure = error;
          wake?.();
        },
      });
      const reading = readControlRequests(requests, market, subscription, maxSymbols, send).catch((error) => {
        subscription.close(toConnectError(error));
      });
      try {
        for (;;) {
          while (outbox.length > 0) yield outbox.shift()!;
          if (updatesWaiting) {
            updatesWaiting = false;
            subscription.resume();
          }
          if (ended) {
            if (failure !== undefined) throw toConnectError(failure);
            return;
          }
          await new Promise<void>((resolve) => (wake = resolve));
          wake = undefined;
        }
      } finally {
        subscription.close();
        // Not awaited: when the stream ends from this side (slow consumer,
        // shutdown) the client may still hold its request side open, and
        // waiting for it would keep the status from ever reaching it. The
        // reader stops at its next request or when the call is torn down.
        void reading;
      }
    },
  };
}

function openSubscription(market: Market, context: HandlerContext): Subscription {
  const subscription = market.subscribe();
  // A cancelled call must release its symbols at once, even while the
  // handler is parked waiting for the next update.
  if (context.signal.aborted) subscription.close();
  else context.signal.addEventListener("abort", () => subscription.close(), { once: true });
  return subscription;
}

async function readControlRequests(
  requests: AsyncIterable<StreamMarketDataRequest>,
  market: Market,
  subscription: Subscription,
  maxSymbols: number,
  send: (response: StreamMarketDataResponse) => void,
): Promise<void> {
  for await (const request of requests) {
    if (subscription.closed) return;
    const action = request.action;
    if (action.case === "subscribe") {
      const wanted = [...new Set(action.value.symbolIds)].filter((id) => !subscription.has(id));
      const room = maxSymbols - subscription.size;
      const current = await market.getMany(wanted);
      const known: number[] = [];
      const unknown: number[] = [];
      const overLimit: number[] = [];
      wanted.forEach((id, i) => {
        if (id === 0 || current[i] === undefined) unknown.push(id);
        else if (known.length < room) known.push(id);
        else overLimit.push(id);
      });
      if (unknown.length > 0) send(symbolError(unknown, "unknown symbol"));
      if (overLimit.length > 0) send(symbolError(overLimit, `a stream may hold at most ${maxSymbols} symbols`));
      const added = subscription.add(known, {
        mode: fieldModeOf(action.value.mode),
        maxUpdatesPerSecond: action.value.maxUpdatesPerSecond,
      });
      send(ack(subscription, added, []));
      for (const id of added) subscription.offer(current[wanted.indexOf(id)]!);
    } else if (action.case === "unsubscribe") {
      const removed = subscription.remove(action.value.symbolIds);
      send(ack(subscription, [], removed));
    }
  }
}

function ack(subscription: Subscription, subscribed: number[], unsubscribed: number[]): StreamMarketDataResponse {
  return create(StreamMarketDataResponseSchema, {
    event: {
      case: "subscription",
      value: {
        subscribedSymbolIds: subscribed,
        unsubscribedSymbolIds: unsubscribed,
        activeSymbolIds: [...subscription.symbols].sort((a, b) => a - b),
      },
    },
  });
}

function symbolError(symbolIds: number[], reason: string): StreamMarketDataResponse {
  return create(StreamMarketDataResponseSchema, {
    event: { case: "symbolError", value: { symbolIds, reason } },
  });
}

// Every stream of a symbol in one mode sends the same response for an
// update: one frozen object, so that a lane can encode it once for all.
// Each cache holds, per object, one slot per field mode.
// One frozen answer per snapshot: every caller reads the same one until the
// symbol moves, so the lanes encode it once (their serializers keep the
// bytes of frozen messages).
const getSnapshotResponse = identityCache((snapshot: Snapshot) =>
  Object.freeze(create(GetSnapshotResponseSchema, { snapshot: snapshotMessage(snapshot) })),
);

const MODE_SLOTS: Readonly<Record<FieldMode, number>> = { ltp: 0, quote: 1, full: 2 };
const subscribeResponses = identityCache((_snapshot: Snapshot): SubscribeSnapshotsResponse[] => []);
const streamResponses = identityCache((_snapshot: Snapshot): StreamMarketDataResponse[] => []);
// A batch the hub handed to many streams alike is one frozen array: its
// responses are one array too, which a lane can write as one set of bytes.
const batchResponses = identityCache((_batch: readonly Snapshot[]): Array<readonly SubscribeSnapshotsResponse[]> => [], { frozenOnly: true });

function snapshotResponses(updates: readonly Snapshot[], mode: FieldMode): readonly SubscribeSnapshotsResponse[] {
  const byMode = batchResponses(updates);
  return (byMode[MODE_SLOTS[mode]] ??= Object.freeze(updates.map((snapshot) => snapshotResponse(snapshot, mode))));
}

function snapshotResponse(snapshot: Snapshot, mode: FieldMode): SubscribeSnapshotsResponse {
  return (subscribeResponses(snapshot)[MODE_SLOTS[mode]] ??= Object.freeze(
    create(SubscribeSnapshotsResponseSchema, { event: { case: "snapshot", value: snapshotMessage(snapshot, mode) } }),
  ));
}

function streamSnapshotResponse(snapshot: Snapshot, subscription: Subscription): StreamMarketDataResponse {
  const mode = subscription.modeOf(snapshot.symbolId);
  return (streamResponses(snapshot)[MODE_SLOTS[mode]] ??= Object.freeze(
    create(StreamMarketDataResponseSchema, { event: { case: "snapshot", value: snapshotMessage(snapshot, mode) } }),
  ));
}

/** fieldModeOf maps the API's snapshot mode to the market's; unspecified is a quote. */
function fieldModeOf(mode: SnapshotMode): FieldMode {
  switch (mode) {
    case SnapshotMode.LTP:
      return "ltp";
    case SnapshotMode.FULL:
      return "full";
    default:
      return "quote";
  }
}

function heartbeatResponse(): SubscribeSnapshotsResponse {
  return create(SubscribeSnapshotsResponseSchema, {
    event: { case: "heartbeat", value: { serverTime: timestampNow() } },
  });
}

function rethrow(error: unknown): never {
  throw toConnectError(error);
}

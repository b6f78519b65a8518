import { createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { MarketDataService } from "../../src/gen/stockify/v1/market_data_service_pb.js";
import type { Snapshot } from "../../src/gen/stockify/v1/snapshot_pb.js";

/**
 * SnapshotStream is a SubscribeSnapshots call over gRPC that a test watches:
 * what arrived so far and how the call ended.
 */
export interface SnapshotStream {
  readonly snapshots: Snapshot[];
  /** Heartbeats received. */
  readonly heartbeats: number;
  /** True once the call ended, by the server or by stop(). */
  readonly done: boolean;
  /** The error the call ended with, if the server ended it with one. */
  readonly error: unknown;
  /** Cancels the call and waits until it has ended. */
  stop(): Promise<void>;
}

/**
 * watchSnapshots subscribes to symbols on a gateway and reads every event as
 * fast as it arrives.
 */
export function watchSnapshots(baseUrl: string, symbolIds: number[]): SnapshotStream {
  const controller = new AbortController();
  const client = createClient(MarketDataService, createGrpcTransport({ baseUrl }));
  const state = { snapshots: [] as Snapshot[], heartbeats: 0, done: false, error: undefined as unknown };
  const finished = (async () => {
    try {
      for await (const response of client.subscribeSnapshots({ symbolIds }, { signal: controller.signal })) {
        if (response.event.case === "snapshot") state.snapshots.push(response.event.value);
        else if (response.event.case === "heartbeat") state.heartbeats++;
      }
    } catch (error) {
      if (!controller.signal.aborted) state.error = error;
    }
    state.done = true;
  })();
  return {
    get snapshots() {
      return state.snapshots;
    },
    get heartbeats() {
      return state.heartbeats;
    },
    get done() {
      return state.done;
    },
    get error() {
      return state.error;
    },
    async stop() {
      controller.abort();
      await finished;
    },
  };
}

import { Code, ConnectError, type Client } from "@connectrpc/connect";
import type { MarketDataService } from "../../src/gen/stockify/v1/market_data_service_pb.js";
import { SnapshotMode, type Snapshot } from "../../src/gen/stockify/v1/snapshot_pb.js";

/**
 * FeedState is what the page tells the user about its stream.
 */
export type FeedState = "connecting" | "live" | "reconnecting" | "idle" | "error";

/** Errors that trying again cannot cure: the user has to change the symbols or the token. */
const FINAL = new Set([Code.Unauthenticated, Code.PermissionDenied, Code.InvalidArgument, Code.NotFound]);

/**
 * SnapshotFeedOptions receive what a SnapshotFeed sees, and say how often
 * it wants each row to change.
 */
export interface SnapshotFeedOptions {
  onSnapshot(snapshot: Snapshot): void;
  onState(state: FeedState, detail?: string): void;
  /** Most updates per symbol per second, always the latest; 0 for every update. Default ROW_UPDATES_PER_SECOND. */
  maxUpdatesPerSecond?: number;
}

/**
 * ROW_UPDATES_PER_SECOND is how often a row of the page changes at most: a
 * person reads a price about that fast, and anything faster only costs the
 * gateway, the network and the browser.
 */
export const ROW_UPDATES_PER_SECOND = 4;

/**
 * SnapshotFeed keeps one SubscribeSnapshots stream open over fetch for the
 * symbols on the page, asking for quotes (the table shows no book) at a
 * rate a person can read. Browsers cannot stream requests over HTTP/1.1, so a
 * change of symbols replaces the stream (the new one starts with the
 * current snapshots); a broken stream is reopened with growing, jittered
 * waits, unless the gateway refused the request itself (an unknown symbol,
 * a bad token).
 */
export class SnapshotFeed {
  readonly #client: Client<typeof MarketDataService>;
  readonly #options: SnapshotFeedOptions;
  #symbols: number[] = [];
  #current: AbortController | undefined;

  constructor(client: Client<typeof MarketDataService>, options: SnapshotFeedOptions) {
    this.#client = client;
    this.#options = options;
  }

  /** Streams these symbols from now on. */
  follow(symbolIds: readonly number[]): void {
    this.#symbols = [...symbolIds];
    this.#current?.abort();
    if (this.#symbols.length === 0) {
      this.#current = undefined;
      this.#options.onState("idle", "no symbols");
      return;
    }
    const controller = new AbortController();
    this.#current = controller;
    void this.#run(this.#symbols, controller.signal);
  }

  async #run(symbolIds: number[], signal: AbortSignal): Promise<void> {
    let failures = 0;
    while (!signal.aborted) {
      this.#options.onState(failures === 0 ? "connecting" : "reconnecting");
      let live = false;
      try {
        const request = {
          symbolIds,
          mode: SnapshotMode.QUOTE,
          maxUpdatesPerSecond: this.#options.maxUpdatesPerSecond ?? ROW_UPDATES_PER_SECOND,
        };
        for await (const { event } of this.#client.subscribeSnapshots(request, { signal })) {
          if (!live) this.#options.onState("live");
          live = true;
          failures = 0;
          if (event.case === "snapshot") this.#options.onSnapshot(event.value);
        }
      } catch (error) {
        if (signal.aborted) return;
        const refusal = ConnectError.from(error);
        if (FINAL.has(refusal.code)) {
          this.#options.onState("error", refusal.message);
          return;
        }
        this.#options.onState("reconnecting", refusal.message);
      }
      failures++;
      const bound = Math.min(5000, 250 * 2 ** Math.min(failures, 5));
      await new Promise((resolve) => setTimeout(resolve, bound / 2 + (Math.random() * bound) / 2));
    }
  }
}

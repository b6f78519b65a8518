import { timestampFromMs, timestampMs } from "@bufbuild/protobuf/wkt";
import { Code, ConnectError, type Client } from "@connectrpc/connect";
import type { Candle, MarketHistoryService } from "../../src/gen/stockify/v1/market_history_service_pb.js";
import type { PriceBar } from "./candle-chart.js";

/** Errors that trying again cannot cure. */
const FINAL = new Set([Code.Unauthenticated, Code.PermissionDenied, Code.InvalidArgument, Code.NotFound, Code.Unimplemented]);

/** Refusals about the one symbol; the others concern every symbol. */
const SYMBOL_ONLY = new Set([Code.InvalidArgument, Code.NotFound]);

const DAY_MS = 86_400_000;

/**
 * CandleFeedOptions receive what a CandleFeed reads.
 */
export interface CandleFeedOptions {
  /** Bar width, as the gateway names it. */
  interval: string;
  /** The bars read with GetCandles, oldest first: today's, or those since the newest shown after a reconnect. */
  onBars(symbolId: number, bars: PriceBar[], fresh: boolean): void;
  /** A bar from the live stream: a new one, or the new state of the bar in progress. */
  onBar(symbolId: number, bar: PriceBar): void;
  /**
   * The gateway refused history for this symbol, or serves none at all
   * (`everywhere`: no service, or a token without access to it): the
   * caller charts what it sees live instead.
   */
  onUnavailable(symbolId: number, reason: string, everywhere: boolean): void;
}

/**
 * CandleFeed reads the bars of the charted symbol: today's with GetCandles,
 * then the bar in progress as StreamCandles reports it. A broken stream is
 * reopened with growing, jittered waits, and the bars missed meanwhile are
 * read again from the newest the chart has. Showing another symbol drops
 * the old reads.
 */
export class CandleFeed {
  readonly #client: Client<typeof MarketHistoryService>;
  readonly #options: CandleFeedOptions;
  #current: AbortController | undefined;

  constructor(client: Client<typeof MarketHistoryService>, options: CandleFeedOptions) {
    this.#client = client;
    this.#options = options;
  }

  /** Charts this symbol from now on; undefined stops. */
  show(symbolId: number | undefined, newest?: () => number | undefined): void {
    this.#current?.abort();
    this.#current = undefined;
    if (symbolId === undefined) return;
    const controller = new AbortController();
    this.#current = controller;
    void this.#run(symbolId, controller.signal, newest ?? (() => undefined));
  }

  async #run(symbolId: number, signal: AbortSignal, newest: () => number | undefined): Promise<void> {
    let failures = 0;
    let fresh = true;
    while (!signal.aborted) {
      try {
        const now = Date.now();
        const from = fresh ? now - (now % DAY_MS) : (newest() ?? now - (now % DAY_MS));
        const bars: PriceBar[] = [];
        let pageToken = "";
        do {
          const page = await this.#client.getCandles(
            { symbolId, interval: this.#options.interval, startTime: timestampFromMs(from), pageSize: 5000, pageToken },
            { signal },
          );
          bars.push(...page.candles.map(priceBar));
          pageToken = page.nextPageToken;
        } while (pageToken !== "");
        if (signal.aborted) return;
        this.#options.onBars(symbolId, bars, fresh);
        fresh = false;
        // Two intervals back: the bar that may have closed since the read, and the one in progress.
        for await (const { candle } of this.#client.streamCandles({ symbolId, interval: this.#options.interval, recentCount: 2 }, { signal })) {
          failures = 0;
          if (candle !== undefined) this.#options.onBar(symbolId, priceBar(candle));
        }
      } catch (error) {
        if (signal.aborted) return;
        const refusal = ConnectError.from(error);
        if (FINAL.has(refusal.code)) {
          this.#options.onUnavailable(symbolId, refusal.message, !SYMBOL_ONLY.has(refusal.code));
          return;
        }
      }
      failures++;
      const bound = Math.min(5000, 250 * 2 ** Math.min(failures, 5));
      await new Promise((resolve) => setTimeout(resolve, bound / 2 + (Math.random() * bound) / 2));
    }
  }
}

function priceBar(candle: Candle): PriceBar {
  return {
    time: candle.startTime === undefined ? 0 : timestampMs(candle.startTime),
    open: candle.open,
    high: candle.high,
    low: candle.low,
    close: candle.close,
  };
}

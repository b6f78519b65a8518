import type { SimulatedSymbol } from "./default-universe.js";
import { MAX_DEPTH_LEVELS, type DepthLevel, type Tick } from "./snapshot.js";

/**
 * SimulatorOptions configure the built-in market simulator.
 */
export interface SimulatorOptions {
  /** Instruments to trade. */
  symbols: readonly SimulatedSymbol[];
  /** Ticks per second across all symbols. Default 50. */
  ticksPerSecond?: number;
  /** Random source in [0, 1). Default Math.random. */
  random?: () => number;
  /**
   * Farthest a price walks from its base price, in percent; keep it inside
   * the market's price band so that no simulated tick is refused. Default 10.
   */
  maxMovePercent?: number;
}

/** Ticks are sent in batches this often, as a real feed handler would. */
const INTERVAL_MS = 100;

/**
 * MarketSimulator makes believable prices: a random walk per symbol with
 * realistic volatility, a bid/ask spread around the last price, a five-level
 * book behind it and random trade sizes, sent through the same ingest path
 * producers use.
 */
export class MarketSimulator {
  readonly #symbols: readonly SimulatedSymbol[];
  readonly #ticksPerSecond: number;
  readonly #random: () => number;
  readonly #maxMove: number;
  readonly #prices = new Map<number, number>();
  readonly #ingest: (ticks: Tick[]) => Promise<unknown>;
  #timer: NodeJS.Timeout | undefined;
  #carry = 0;
  #seeded = true;

  constructor(ingest: (ticks: Tick[]) => Promise<unknown>, options: SimulatorOptions) {
    this.#ingest = ingest;
    this.#symbols = options.symbols;
    this.#ticksPerSecond = options.ticksPerSecond ?? 50;
    this.#random = options.random ?? Math.random;
    this.#maxMove = (options.maxMovePercent ?? 10) / 100;
  }

  /** Seeds a snapshot for every symbol, then ticks until stopped. */
  async start(): Promise<void> {
    if (this.#timer !== undefined) return;
    // A store that is not reachable yet (Redis still connecting) gets the
    // seed again on the next interval instead of failing the start.
    this.#seeded = await this.#ingest(this.#symbols.map((s) => this.#tick(s, true))).then(
      () => true,
      () => false,
    );
    this.#timer = setInterval(() => void this.step(), INTERVAL_MS);
    this.#timer.unref();
  }

  /** Sends one interval's ticks; exposed so tests can drive time. */
  step(): Promise<unknown> {
    if (!this.#seeded) {
      return this.#ingest(this.#symbols.map((s) => this.#tick(s, true))).then(
        () => (this.#seeded = true),
        () => undefined,
      );
    }
    // Counted in tick-milliseconds, so whole rates add up exactly: ten
    // intervals at 1 tick per second make exactly one tick, not 0.999...
    this.#carry += this.#ticksPerSecond * INTERVAL_MS;
    const count = Math.floor(this.#carry / 1000);
    this.#carry -= count * 1000;
    if (count === 0 || this.#symbols.length === 0) return Promise.resolve();
    const ticks: Tick[] = [];
    for (let i = 0; i < count; i++) {
      // Indices trade most: the first symbols are picked more often.
      const pick = Math.floor(this.#symbols.length * this.#random() ** 2);
      ticks.push(this.#tick(this.#symbols[pick]!, false));
    }
    // A failing store (Redis down) must not crash the simulator: it retries
    // on the next interval.
    return this.#ingest(ticks).catch(() => undefined);
  }

  /** Stops ticking. */
  stop(): void {
    if (this.#timer !== undefined) clearInterval(this.#timer);
    this.#timer = undefined;
  }

  #tick(s: SimulatedSymbol, first: boolean): Tick {
    const previous = this.#prices.get(s.symbolId) ?? s.basePrice;
    // About 2 basis points per tick, roughly the intraday noise of an index.
    let drift = first ? 0 : (this.#random() - 0.5) * 0.0004 * previous;
    // A walk left alone wanders off over millions of ticks; turned back at
    // the edge, it stays where an exchange's circuit limits would keep it.
    if (Math.abs(previous + drift - s.basePrice) > s.basePrice * this.#maxMove) drift = -drift;
    const ltp = Math.max(s.tickSize, round(previous + drift, s.tickSize));
    this.#prices.set(s.symbolId, ltp);
    // One to four ticks wide, never locked: halving an odd spread would
    // round bid and ask onto the same price.
    const spreadTicks = 1 + Math.floor(this.#random() * 4);
    const bid = round(ltp - Math.ceil(spreadTicks / 2) * s.tickSize, s.tickSize);
    const ask = round(bid + spreadTicks * s.tickSize, s.tickSize);
    const bids = this.#side(bid, -s.tickSize);
    const asks = this.#side(ask, s.tickSize);
    return {
      symbolId: s.symbolId,
      symbol: s.symbol,
      ltp,
      volume: first ? 0 : 1 + Math.floor(this.#random() * 500) * 25,
      bid,
      ask,
      // A price at the grid's floor leaves no room for bids.
      bidSize: bids[0]?.quantity ?? 0,
      askSize: asks[0]?.quantity ?? 0,
      depth: { bids, asks },
    };
  }

  /** One side of the book, from the best price outwards by `step`. */
  #side(best: number, step: number): DepthLevel[] {
    const levels: DepthLevel[] = [];
    let price = best;
    for (let i = 0; i < MAX_DEPTH_LEVELS && price > 0; i++) {
      const quantity = 25 * (1 + Math.floor(this.#random() * 200));
      // A level is a handful of orders, each at least one lot of 25.
      const orders = 1 + Math.floor(this.#random() * Math.min(20, quantity / 25));
      levels.push({ price, quantity, orders });
      // Books have holes: now and then a price level is empty.
      price = round(price + step * (this.#random() < 0.3 ? 2 : 1), Math.abs(step));
    }
    return levels;
  }
}

function round(price: number, step: number): number {
  return Math.round(Math.round(price / step) * step * 100) / 100;
}

import { foldRecord } from "./candle-builder.js";
import { bucketStart, type CandleInterval } from "./candle-interval.js";
import type { Candle, TickRecord } from "./history-store.js";
import type { Snapshot } from "./snapshot.js";

/** CandleListener hears every new state of the bar in progress. */
export type CandleListener = (candle: Candle) => void;

/**
 * LiveCandleSeed is where a watched bar starts: the symbol's snapshot when
 * watching began (the baseline for the quantity of the next update) and the
 * stored bar that holds it, when history has one.
 */
export interface LiveCandleSeed {
  readonly snapshot: Snapshot | undefined;
  readonly bar: Candle | undefined;
}

/**
 * LiveCandleWatch is one watcher's hold on a bar in progress.
 */
export interface LiveCandleWatch {
  /** Resolves once the bar is seeded; the listener hears only later changes. */
  readonly ready: Promise<void>;
  /** The bar in progress now, undefined before the first tick of a bar is seen. */
  readonly current: Candle | undefined;
  /** Stops listening; the last watcher of a bar releases it. */
  close(): void;
}

/** UpdateSource is the part of a snapshot store live candles listen to. */
export interface UpdateSource {
  onUpdate(listener: (snapshot: Snapshot) => void): () => void;
}

/**
 * LiveCandles keeps the bar in progress of every watched (symbol, interval)
 * current from the store's announcements, which cover every replica's
 * updates when the store is shared.
 *
 * An update of a symbol nobody watches costs one Map lookup. Watchers of the
 * same bar share its state, so an update is folded once per watched
 * interval, whatever the number of streams.
 */
export class LiveCandles {
  readonly #bySymbol = new Map<number, LiveBar[]>();
  readonly #stopListening: () => void;

  constructor(source: UpdateSource) {
    this.#stopListening = source.onUpdate((snapshot) => {
      const bars = this.#bySymbol.get(snapshot.symbolId);
      if (bars === undefined) return;
      for (const bar of bars) bar.offer(snapshot);
    });
  }

  /** Number of (symbol, interval) bars watched now. */
  get watched(): number {
    let count = 0;
    for (const bars of this.#bySymbol.values()) count += bars.length;
    return count;
  }

  /**
   * Watches the bar in progress of one symbol and interval. The first
   * watcher of a bar calls `seed` (registered before it runs, so no update
   * falls between); later watchers share the bar it started from.
   */
  watch(symbolId: number, interval: CandleInterval, listener: CandleListener, seed: () => Promise<LiveCandleSeed>): LiveCandleWatch {
    let bars = this.#bySymbol.get(symbolId);
    if (bars === undefined) {
      bars = [];
      this.#bySymbol.set(symbolId, bars);
    }
    let bar = bars.find((b) => b.interval === interval);
    if (bar === undefined) {
      bar = new LiveBar(interval, seed);
      bars.push(bar);
    }
    const shared = bar;
    shared.listeners.add(listener);
    let closed = false;
    return {
      ready: shared.ready,
      get current() {
        return shared.candle;
      },
      close: () => {
        if (closed) return;
        closed = true;
        shared.listeners.delete(listener);
        if (shared.listeners.size > 0) return;
        const list = this.#bySymbol.get(symbolId);
        if (list === undefined) return;
        const index = list.indexOf(shared);
        if (index >= 0) list.splice(index, 1);
        if (list.length === 0) this.#bySymbol.delete(symbolId);
      },
    };
  }

  /** Stops listening to the store. */
  close(): void {
    this.#stopListening();
    this.#bySymbol.clear();
  }
}

// Updates that arrive while a bar is being seeded wait here; a seed that
// takes long under heavy updates keeps only the newest ones.
const MAX_PENDING = 10_000;

class LiveBar {
  readonly interval: CandleInterval;
  readonly listeners = new Set<CandleListener>();
  readonly ready: Promise<void>;
  candle: Candle | undefined;
  #pending: Snapshot[] | undefined = [];
  #previousSequence = 0;
  #previousVolume = 0;

  constructor(interval: CandleInterval, seed: () => Promise<LiveCandleSeed>) {
    this.interval = interval;
    this.ready = seed().then(
      (start) => this.#start(start),
      (error: unknown) => {
        // Without a seed the bar still goes live, from the next update on.
        this.#start({ snapshot: undefined, bar: undefined });
        throw error;
      },
    );
    // The watcher that seeded awaits ready; others must not see an unhandled rejection.
    this.ready.catch(() => undefined);
  }

  offer(snapshot: Snapshot): void {
    if (this.#pending !== undefined) {
      if (this.#pending.length >= MAX_PENDING) this.#pending.shift();
      this.#pending.push(snapshot);
      return;
    }
    if (this.#fold(snapshot)) {
      const candle = this.candle!;
      for (const listener of [...this.listeners]) listener(candle);
    }
  }

  #start(seed: LiveCandleSeed): void {
    if (seed.snapshot !== undefined) {
      this.#previousSequence = seed.snapshot.sequence;
      this.#previousVolume = seed.snapshot.volume;
    }
    this.candle = seed.bar;
    const pending = this.#pending ?? [];
    this.#pending = undefined;
    for (const snapshot of pending) this.#fold(snapshot);
  }

  // Returns whether the bar changed.
  #fold(snapshot: Snapshot): boolean {
    // Older or repeated announcements (a store replaying after recovery).
    if (snapshot.sequence <= this.#previousSequence) return false;
    // A snapshot carries the day's running volume; its difference to the one
    // before is the tick's quantity only when no update fell between. After
    // a gap the missed ticks' bars are unknown, so their quantity is left to
    // the stored history rather than guessed into this bar.
    const consecutive = snapshot.sequence === this.#previousSequence + 1 && this.#previousSequence > 0;
    const quantity = consecutive ? Math.max(0, snapshot.volume - this.#previousVolume) : 0;
    this.#previousSequence = snapshot.sequence;
    this.#previousVolume = snapshot.volume;
    const candle = this.candle;
    if (candle !== undefined && snapshot.sequence <= candle.lastSequence) return false;
    const bucket = bucketStart(snapshot.exchangeTimeMs, this.interval);
    // A late tick for a bar already closed belongs to the stored history only.
    if (candle !== undefined && bucket < candle.startMs) return false;
    this.candle = foldRecord(candle !== undefined && bucket === candle.startMs ? candle : undefined, recordOf(snapshot, quantity), this.interval);
    return true;
  }
}

function recordOf(snapshot: Snapshot, quantity: number): TickRecord {
  return {
    symbolId: snapshot.symbolId,
    sequence: snapshot.sequence,
    timeMs: snapshot.exchangeTimeMs,
    price: snapshot.ltp,
    quantity,
    bid: snapshot.bid,
    ask: snapshot.ask,
    bidSize: snapshot.bidSize,
    askSize: snapshot.askSize,
  };
}

import { addToBar, type Bar, copyBar, foldRecords, mergeBar, openBar, toCandle } from "./candle-builder.js";
import { type CandleInterval, intervalMs } from "./candle-interval.js";
import type { Candle, CandleQuery, HistoryStore, TickQuery, TickRecord } from "./history-store.js";

/**
 * MemoryHistoryOptions size the window a MemoryHistoryStore keeps.
 */
export interface MemoryHistoryOptions {
  /** Most recent tick records kept per symbol. Default 10,000. */
  ticksPerSymbol?: number;
  /** Days of 1m bars kept per symbol, counted back from its latest tick. Default 1. */
  days?: number;
}

const DAY_MS = 86_400_000;
const MINUTE_MS = 60_000;

/**
 * MemoryHistoryStore is the history store used without a database: a
 * bounded window per symbol, kept in memory and lost at exit.
 *
 * It keeps each symbol's last `ticksPerSymbol` tick records and its 1m bars
 * for the last `days` days, both maintained as records arrive. 1s bars are
 * folded from the kept ticks, and 5m to 1d bars from the 1m bars, when
 * asked; a bar that reaches back past the window holds only what the
 * window kept.
 *
 * Records of one symbol arrive in sequence order (the market records each
 * batch after applying it), so a record at or before the highest sequence
 * the symbol has seen is a repeat and is ignored.
 */
export class MemoryHistoryStore implements HistoryStore {
  readonly #ticksPerSymbol: number;
  readonly #windowMs: number;
  readonly #symbols = new Map<number, SymbolHistory>();

  constructor(options: MemoryHistoryOptions = {}) {
    this.#ticksPerSymbol = options.ticksPerSymbol ?? 10_000;
    this.#windowMs = (options.days ?? 1) * DAY_MS;
    if (!Number.isInteger(this.#ticksPerSymbol) || this.#ticksPerSymbol < 1) {
      throw new RangeError(`ticksPerSymbol must be a positive integer, not ${options.ticksPerSymbol}`);
    }
    if (!(this.#windowMs > 0)) throw new RangeError(`days must be positive, not ${options.days}`);
  }

  /** Memory is always there. */
  get healthy(): boolean {
    return true;
  }

  onHealthChange(_listener: (healthy: boolean) => void): () => void {
    return () => {};
  }

  append(records: readonly TickRecord[]): Promise<void> {
    for (let i = 0; i < records.length; i++) {
      const record = records[i]!;
      let history = this.#symbols.get(record.symbolId);
      if (history === undefined) {
        history = new SymbolHistory(this.#ticksPerSymbol, this.#windowMs);
        this.#symbols.set(record.symbolId, history);
      }
      history.add(record);
    }
    return Promise.resolve();
  }

  candles(query: CandleQuery): Promise<Candle[]> {
    const history = this.#symbols.get(query.symbolId);
    if (history === undefined || query.limit <= 0) return Promise.resolve([]);
    const from = query.afterStartMs === undefined ? query.startMs : Math.max(query.startMs, query.afterStartMs + 1);
    if (query.interval === "1s") return Promise.resolve(history.secondBars(from, query.endMs, query.limit));
    return Promise.resolve(history.minuteBars(query.symbolId, query.interval, from, query.endMs, query.limit));
  }

  ticks(query: TickQuery): Promise<TickRecord[]> {
    const history = this.#symbols.get(query.symbolId);
    if (history === undefined || query.limit <= 0) return Promise.resolve([]);
    return Promise.resolve(history.ticks(query.startMs, query.endMs, query.afterSequence ?? 0, query.limit));
  }

  /** Forgets everything. */
  close(): Promise<void> {
    this.#symbols.clear();
    return Promise.resolve();
  }
}

// SymbolHistory is one symbol's window: a ring of its latest records, in
// sequence order, and its 1m bars, oldest first.
class SymbolHistory {
  readonly #ring: TickRecord[] = [];
  readonly #capacity: number;
  readonly #windowMs: number;
  #head = 0; // index in #ring of the oldest kept record once the ring is full
  #lastSequence = 0;
  // While exchange times never go back the ring is sorted by time as well
  // as by sequence, and tick queries find their start by binary search.
  #timeOrdered = true;
  #lastTimeMs = Number.NEGATIVE_INFINITY;
  #minutes: Bar[] = [];
  #minutesHead = 0; // bars before it have left the window

  constructor(capacity: number, windowMs: number) {
    this.#capacity = capacity;
    this.#windowMs = windowMs;
  }

  add(record: TickRecord): void {
    if (record.sequence <= this.#lastSequence) return;
    this.#lastSequence = record.sequence;
    const ring = this.#ring;
    if (ring.length < this.#capacity) ring.push(record);
    else {
      ring[this.#head] = record;
      this.#head = this.#head + 1 === this.#capacity ? 0 : this.#head + 1;
    }
    if (record.timeMs < this.#lastTimeMs) this.#timeOrdered = false;
    else this.#lastTimeMs = record.timeMs;
    this.#addToMinutes(record);
  }

  #addToMinutes(record: TickRecord): void {
    const startMs = Math.floor(record.timeMs / MINUTE_MS) * MINUTE_MS;
    const minutes = this.#minutes;
    const last = minutes.length > this.#minutesHead ? minutes[minutes.length - 1]! : undefined;
    if (last !== undefined && last.startMs === startMs) {
      addToBar(last, record);
      return;
    }
    if (last === undefined || startMs > last.startMs) {
      minutes.push(openBar(startMs, record));
      this.#trimMinutes(startMs);
      return;
    }
    // A tick whose exchange time went back: fold it into its own minute.
    if (startMs <= last.startMs - this.#windowMs) return;
    const index = lowerBound(minutes, this.#minutesHead, minutes.length, startMs);
    const bar = minutes[index];
    if (bar !== undefined && bar.startMs === startMs) addToBar(bar, record);
    else minutes.splice(index, 0, openBar(startMs, record));
  }

  #trimMinutes(newestStartMs: number): void {
    const minutes = this.#minutes;
    const cutoff = newestStartMs - this.#windowMs;
    let head = this.#minutesHead;
    while (minutes[head]!.startMs <= cutoff) head++;
    // Bars leave from the front; compact once the dead prefix is as long as the rest.
    if (head > 64 && head * 2 > minutes.length) {
      this.#minutes = minutes.slice(head);
      head = 0;
    }
    this.#minutesHead = head;
  }

  #at(index: number): TickRecord {
    const i = this.#head + index;
    return this.#ring[i >= this.#capacity ? i - this.#capacity : i]!;
  }

  // First logical ring index whose record satisfies a monotone predicate.
  #firstIndex(test: (record: TickRecord) => boolean): number {
    let low = 0;
    let high = this.#ring.length;
    while (low < high) {
      const mid = (low + high) >>> 1;
      if (test(this.#at(mid))) high = mid;
      else low = mid + 1;
    }
    return low;
  }

  ticks(startMs: number, endMs: number, afterSequence: number, limit: number): TickRecord[] {
    const count = this.#ring.length;
    let index = afterSequence > 0 ? this.#firstIndex((r) => r.sequence > afterSequence) : 0;
    if (this.#timeOrdered) index = Math.max(index, this.#firstIndex((r) => r.timeMs >= startMs));
    const found: TickRecord[] = [];
    for (; index < count && found.length < limit; index++) {
      const record = this.#at(index);
      if (record.timeMs >= endMs) {
        if (this.#timeOrdered) break;
        continue;
      }
      if (record.timeMs >= startMs) found.push(record);
    }
    return found;
  }

  secondBars(fromMs: number, endMs: number, limit: number): Candle[] {
    // A bar is returned whole or not at all: its start must lie in the range.
    const firstStart = Math.ceil(fromMs / 1_000) * 1_000;
    if (!this.#timeOrdered) {
      const candles = foldRecords(this.ticks(firstStart, endMs, 0, Number.POSITIVE_INFINITY), "1s");
      return candles.length > limit ? candles.slice(0, limit) : candles;
    }
    // In time order a page ends at the first tick of the bar after its last.
    const count = this.#ring.length;
    const inRange: TickRecord[] = [];
    let bars = 0;
    let barStart = Number.NaN;
    for (let index = this.#firstIndex((r) => r.timeMs >= firstStart); index < count; index++) {
      const record = this.#at(index);
      if (record.timeMs >= endMs) break;
      const startMs = Math.floor(record.timeMs / 1_000) * 1_000;
      if (startMs !== barStart) {
        if (bars === limit) break;
        bars++;
        barStart = startMs;
      }
      inRange.push(record);
    }
    return foldRecords(inRange, "1s");
  }

  minuteBars(symbolId: number, interval: CandleInterval, fromMs: number, endMs: number, limit: number): Candle[] {
    const minutes = this.#minutes;
    const width = intervalMs(interval);
    // The first wide bar that may be returned starts at fromMs rounded up.
    const firstStart = Math.ceil(fromMs / width) * width;
    let index = lowerBound(minutes, this.#minutesHead, minutes.length, firstStart);
    const found: Candle[] = [];
    if (width === MINUTE_MS) {
      for (; index < minutes.length && found.length < limit; index++) {
        const bar = minutes[index]!;
        if (bar.startMs >= endMs) break;
        found.push(toCandle(bar, symbolId, interval));
      }
      return found;
    }
    let wide: Bar | undefined;
    for (; index < minutes.length; index++) {
      const bar = minutes[index]!;
      const startMs = Math.floor(bar.startMs / width) * width;
      if (wide !== undefined && wide.startMs === startMs) {
        mergeBar(wide, bar);
        continue;
      }
      if (wide !== undefined) {
        found.push(toCandle(wide, symbolId, interval));
        wide = undefined;
      }
      if (startMs >= endMs || found.length >= limit) break;
      wide = copyBar(startMs, bar);
    }
    if (wide !== undefined) found.push(toCandle(wide, symbolId, interval));
    return found;
  }
}

// lowerBound returns the first index in [low, high) whose bar starts at or
// after startMs.
function lowerBound(bars: readonly Bar[], low: number, high: number, startMs: number): number {
  while (low < high) {
    const mid = (low + high) >>> 1;
    if (bars[mid]!.startMs < startMs) low = mid + 1;
    else high = mid;
  }
  return low;
}

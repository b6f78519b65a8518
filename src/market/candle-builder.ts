import { bucketStart, type CandleInterval, intervalMs } from "./candle-interval.js";
import type { Candle, TickRecord } from "./history-store.js";

/**
 * foldRecord returns the bar that results from adding one tick record to a
 * bar, or the first bar of the record's bucket when there is none yet.
 *
 * Records of a bar are folded in sequence order: the first one opens it and
 * the last one closes it. A record at or before the bar's lastSequence has
 * been folded already (a live stream that starts from a stored bar sees
 * some of its ticks again) and leaves the bar as it is. The record must
 * fall in the bar's bucket.
 */
export function foldRecord(candle: Candle | undefined, record: TickRecord, interval: CandleInterval): Candle {
  if (candle === undefined) {
    const price = record.price;
    return {
      symbolId: record.symbolId,
      interval,
      startMs: bucketStart(record.timeMs, interval),
      open: price,
      high: price,
      low: price,
      close: price,
      volume: record.quantity,
      tickCount: 1,
      lastSequence: record.sequence,
    };
  }
  if (record.sequence <= candle.lastSequence) return candle;
  if (record.symbolId !== candle.symbolId || bucketStart(record.timeMs, candle.interval) !== candle.startMs) {
    throw new RangeError(
      `tick ${record.symbolId}#${record.sequence} at ${record.timeMs} is outside the ${candle.interval} bar of ${candle.symbolId} at ${candle.startMs}`,
    );
  }
  const price = record.price;
  return {
    symbolId: candle.symbolId,
    interval: candle.interval,
    startMs: candle.startMs,
    open: candle.open,
    high: Math.max(price, candle.high),
    low: Math.min(price, candle.low),
    close: price,
    volume: candle.volume + record.quantity,
    tickCount: candle.tickCount + 1,
    lastSequence: record.sequence,
  };
}

/**
 * Bar is a bar being built in place, for stores that fold many records: it
 * also remembers the sequence of its first tick, so that bars merged into a
 * wider one open with the price of the wider bar's first tick even when
 * exchange times went back.
 */
export interface Bar {
  readonly startMs: number;
  open: number;
  high: number;
  low: number;
  close: number;
  volume: number;
  tickCount: number;
  firstSequence: number;
  lastSequence: number;
}

/** openBar starts a bar at startMs with one record. */
export function openBar(startMs: number, record: TickRecord): Bar {
  const price = record.price;
  return {
    startMs,
    open: price,
    high: price,
    low: price,
    close: price,
    volume: record.quantity,
    tickCount: 1,
    firstSequence: record.sequence,
    lastSequence: record.sequence,
  };
}

/** addToBar folds one more record of the bar's bucket into it, by sequence. */
export function addToBar(bar: Bar, record: TickRecord): void {
  const price = record.price;
  if (price > bar.high) bar.high = price;
  if (price < bar.low) bar.low = price;
  bar.volume += record.quantity;
  bar.tickCount++;
  // Sequence, not arrival, decides open and close, as it does in SQL.
  if (record.sequence > bar.lastSequence) {
    bar.lastSequence = record.sequence;
    bar.close = price;
  } else if (record.sequence < bar.firstSequence) {
    bar.firstSequence = record.sequence;
    bar.open = price;
  }
}

/** mergeBar folds a narrower bar into a wider one in place. */
export function mergeBar(into: Bar, part: Bar): void {
  if (part.high > into.high) into.high = part.high;
  if (part.low < into.low) into.low = part.low;
  into.volume += part.volume;
  into.tickCount += part.tickCount;
  if (part.lastSequence > into.lastSequence) {
    into.lastSequence = part.lastSequence;
    into.close = part.close;
  }
  if (part.firstSequence < into.firstSequence) {
    into.firstSequence = part.firstSequence;
    into.open = part.open;
  }
}

/** copyBar returns a bar at startMs equal to another, to merge more into. */
export function copyBar(startMs: number, bar: Bar): Bar {
  return {
    startMs,
    open: bar.open,
    high: bar.high,
    low: bar.low,
    close: bar.close,
    volume: bar.volume,
    tickCount: bar.tickCount,
    firstSequence: bar.firstSequence,
    lastSequence: bar.lastSequence,
  };
}

/** toCandle returns the immutable candle of a bar. */
export function toCandle(bar: Bar, symbolId: number, interval: CandleInterval): Candle {
  return {
    symbolId,
    interval,
    startMs: bar.startMs,
    open: bar.open,
    high: bar.high,
    low: bar.low,
    close: bar.close,
    volume: bar.volume,
    tickCount: bar.tickCount,
    lastSequence: bar.lastSequence,
  };
}

/**
 * foldRecords returns the bars of one symbol's records at an interval,
 * oldest first; a bucket with no records has no bar.
 */
export function foldRecords(records: Iterable<TickRecord>, interval: CandleInterval): Candle[] {
  const width = intervalMs(interval);
  const bars: Bar[] = [];
  let symbolId = 0;
  let sorted = true;
  let byStart: Map<number, Bar> | undefined;
  for (const record of records) {
    symbolId = record.symbolId;
    const startMs = Math.floor(record.timeMs / width) * width;
    const last = bars.length === 0 ? undefined : bars[bars.length - 1]!;
    if (last !== undefined && last.startMs === startMs) {
      addToBar(last, record);
      continue;
    }
    // Exchange times seldom go back; when they do, find the bar by its start.
    byStart ??= new Map();
    const existing = byStart.get(startMs);
    if (existing !== undefined) {
      addToBar(existing, record);
      continue;
    }
    const bar = openBar(startMs, record);
    if (last !== undefined && startMs < last.startMs) sorted = false;
    bars.push(bar);
    byStart.set(startMs, bar);
  }
  if (!sorted) bars.sort((a, b) => a.startMs - b.startMs);
  const candles = new Array<Candle>(bars.length);
  for (let i = 0; i < bars.length; i++) candles[i] = toCandle(bars[i]!, symbolId, interval);
  return candles;
}

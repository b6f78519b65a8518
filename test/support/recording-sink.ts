import type { Hub } from "../../src/market/hub.js";
import { foldTick, type Snapshot } from "../../src/market/snapshot.js";
import type { SubscriptionSink } from "../../src/market/subscription.js";

/**
 * RecordingSink is a subscription sink that keeps what it is given: the
 * sending side of a stream whose writes a test can see and stall.
 */
export interface RecordingSink extends SubscriptionSink {
  /** Each delivery, as the subscription handed it over. */
  readonly batches: Snapshot[][];
  /** performance.now() of each delivery. */
  readonly times: number[];
  heartbeats: number;
  /** What closed() was called with, once per call. */
  readonly closes: unknown[];
  /** What deliver() and heartbeat() answer: false stands for a stream that cannot be written to. */
  accepting: boolean;
  /** Every delivered update as "symbol#sequence", in delivery order. */
  labels(): string[];
  /** Sequence numbers delivered for one symbol, in delivery order. */
  sequencesOf(symbolId: number): number[];
}

/** recordingSink makes a sink that takes everything until told otherwise. */
export function recordingSink(accepting = true): RecordingSink {
  const batches: Snapshot[][] = [];
  return {
    batches,
    times: [],
    heartbeats: 0,
    closes: [],
    accepting,
    deliver(updates) {
      // Copied: the record must not change with whatever the caller later does to its array.
      batches.push([...updates]);
      this.times.push(performance.now());
      return this.accepting;
    },
    heartbeat() {
      this.heartbeats++;
      return this.accepting;
    },
    closed(error) {
      this.closes.push(error);
    },
    labels: () => batches.flat().map(label),
    sequencesOf: (symbolId) => batches.flat().filter((s) => s.symbolId === symbolId).map((s) => s.sequence),
  };
}

/** label names an update the way assertions read best: "symbol#sequence". */
export function label(snapshot: Snapshot): string {
  return `${snapshot.symbolId}#${snapshot.sequence}`;
}

/**
 * feed publishes to a hub the way a store does: one new immutable snapshot
 * per update, sequence numbers counting up per symbol.
 */
export function feed(hub: Hub): (symbolId: number, ltp?: number) => Snapshot {
  const last = new Map<number, Snapshot>();
  return (symbolId, ltp = 100) => {
    const next = foldTick(last.get(symbolId), { symbolId, ltp }, 0);
    last.set(symbolId, next);
    hub.publish(next);
    return next;
  };
}

/** turn waits for the event loop to come round, which runs a hub's pending cycle when its flush window is 0. */
export function turn(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/** turns waits for several rounds of the event loop, for cycles that schedule further cycles. */
export async function turns(count: number): Promise<void> {
  for (let i = 0; i < count; i++) await turn();
}

/** sleep waits in real time. */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

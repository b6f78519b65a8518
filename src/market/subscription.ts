import { SlowConsumerError } from "./errors.js";
import type { Hub, HubSubscriber } from "./hub.js";
import type { Snapshot } from "./snapshot.js";

/** HEARTBEAT is what a subscription yields after a quiet interval. */
export const HEARTBEAT: unique symbol = Symbol("heartbeat");
/** WAKE is what a subscription yields when its owner called wake(). */
export const WAKE: unique symbol = Symbol("wake");

/** SubscriptionEvent is one item read from a subscription. */
export type SubscriptionEvent = Snapshot | typeof HEARTBEAT | typeof WAKE;

/** OverflowPolicy says what happens when a reader falls behind. */
export type OverflowPolicy = "conflate" | "close";

/**
 * SubscriptionOptions configure one stream's subscription.
 */
export interface SubscriptionOptions {
  /** Updates queued before the overflow policy applies. Default 1024. */
  bufferSize?: number;
  /** What to do when the buffer is full. Default "conflate". */
  overflow?: OverflowPolicy;
  /** Quiet time after which a heartbeat is yielded; 0 disables. Default 0. */
  heartbeatMs?: number;
  /** Called for every update replaced by a newer one of the same symbol. */
  onConflate?: () => void;
  /** Called once when the subscription closes, for whatever reason. */
  onClose?: () => void;
}

const COMPACT_AFTER = 4096;

/**
 * Subscription is one stream's interest in a changing set of symbols, with a
 * bounded queue of updates waiting to be sent.
 *
 * When the reader keeps up, updates pass through in order. When it falls
 * behind by more than the buffer size, the queue keeps only the latest
 * update per symbol (conflation, visible to the client as a jump in sequence
 * numbers) or, by policy, ends the stream with SlowConsumerError. Memory per
 * stream is bounded either way, and a slow reader never slows the publisher.
 */
export class Subscription implements HubSubscriber, AsyncIterableIterator<SubscriptionEvent> {
  readonly #hub: Hub;
  readonly #symbols = new Set<number>();
  readonly #bufferSize: number;
  readonly #overflow: OverflowPolicy;
  readonly #onConflate: (() => void) | undefined;
  readonly #onClose: (() => void) | undefined;
  // Queue of pending updates from #head on; #latest maps a symbol to the
  // absolute index of its newest pending update, for conflation.
  #queue: Snapshot[] = [];
  #head = 0;
  readonly #latest = new Map<number, number>();
  // Last sequence handed to the reader per symbol: older or repeated
  // updates (a snapshot read while an update was in flight) are skipped.
  readonly #delivered = new Map<number, number>();
  #waiter: ((result: IteratorResult<SubscriptionEvent>) => void) | undefined;
  #failWaiter: ((error: unknown) => void) | undefined;
  #wakePending = false;
  #closed = false;
  #error: unknown;
  #conflated = 0;
  #lastActivity = Date.now();
  readonly #heartbeatTimer: NodeJS.Timeout | undefined;

  constructor(hub: Hub, options: SubscriptionOptions = {}) {
    this.#hub = hub;
    this.#bufferSize = options.bufferSize ?? 1024;
    this.#overflow = options.overflow ?? "conflate";
    this.#onConflate = options.onConflate;
    this.#onClose = options.onClose;
    const heartbeatMs = options.heartbeatMs ?? 0;
    if (heartbeatMs > 0) {
      // One coarse timer per stream rather than one per wait: waits are
      // frequent on a busy stream, heartbeats are rare.
      this.#heartbeatTimer = setInterval(() => this.#beat(heartbeatMs), Math.max(10, heartbeatMs / 2));
      this.#heartbeatTimer.unref();
    }
  }

  /** Symbols this subscription currently receives. */
  get symbols(): ReadonlySet<number> {
    return this.#symbols;
  }

  /** Updates replaced by newer ones because the reader was behind. */
  get conflatedCount(): number {
    return this.#conflated;
  }

  /** Updates waiting to be read. */
  get pending(): number {
    return this.#queue.length - this.#head;
  }

  /** True once closed, by the owner or by the overflow policy. */
  get closed(): boolean {
    return this.#closed;
  }

  /** Starts receiving updates of the given symbols; returns those that were new. */
  add(symbolIds: Iterable<number>): number[] {
    const added: number[] = [];
    if (this.#closed) return added;
    for (const id of symbolIds) {
      if (this.#symbols.has(id)) continue;
      this.#symbols.add(id);
      this.#hub.add(id, this);
      added.push(id);
    }
    return added;
  }

  /** Stops receiving updates of the given symbols, dropping any still queued; returns those that were removed. */
  remove(symbolIds: Iterable<number>): number[] {
    const removed: number[] = [];
    for (const id of symbolIds) {
      if (!this.#symbols.delete(id)) continue;
      this.#hub.remove(id, this);
      this.#delivered.delete(id);
      removed.push(id);
    }
    if (removed.length > 0 && this.pending > 0) {
      const keep = this.#queue.slice(this.#head).filter((s) => this.#symbols.has(s.symbolId));
      this.#reset(keep);
    }
    return removed;
  }

  /** Queues an update for the reader (called by the hub, and for initial snapshots). */
  deliver(snapshot: Snapshot): void {
    if (this.#closed || !this.#symbols.has(snapshot.symbolId)) return;
    const waiter = this.#waiter;
    if (waiter !== undefined && this.pending === 0) {
      if (snapshot.sequence <= (this.#delivered.get(snapshot.symbolId) ?? 0)) return;
      this.#waiter = undefined;
      this.#failWaiter = undefined;
      this.#markDelivered(snapshot);
      waiter({ value: snapshot, done: false });
      return;
    }
    if (this.pending >= this.#bufferSize) {
      // Under "close" nothing is dropped silently: a reader that chose it
      // wants every update or to be told it fell behind.
      if (this.#overflow === "close") {
        this.close(new SlowConsumerError(this.#bufferSize));
        return;
      }
      const index = this.#latest.get(snapshot.symbolId);
      if (index !== undefined && index >= this.#head) {
        // A stale copy (an initial snapshot read before the pending update)
        // must not replace the newer update.
        if (snapshot.sequence <= this.#queue[index]!.sequence) return;
        this.#queue[index] = snapshot;
        this.#conflated++;
        this.#onConflate?.();
        return;
      }
      // A symbol with nothing pending is queued even past the buffer size:
      // the queue then holds at most one update per symbol beyond it.
    }
    this.#latest.set(snapshot.symbolId, this.#queue.length);
    this.#queue.push(snapshot);
  }

  /**
   * Hands over the store's current snapshot of a symbol after the store was
   * unreachable, undefined when the store no longer has one. A store that
   * came back without its data (a Redis restarted empty) numbers the symbol
   * from 1 again: the stream then accepts the new, lower numbers instead of
   * skipping them as stale.
   */
  resync(symbolId: number, current: Snapshot | undefined): void {
    if (!this.#symbols.has(symbolId)) return;
    const delivered = this.#delivered.get(symbolId) ?? 0;
    if (current === undefined) {
      this.#delivered.delete(symbolId);
      return;
    }
    if (current.sequence < delivered) this.#delivered.set(symbolId, current.sequence - 1);
    this.deliver(current);
  }

  /** Makes a waiting (or the next) read yield WAKE, so the owner can send something of its own. */
  wake(): void {
    const waiter = this.#waiter;
    if (waiter !== undefined) {
      this.#waiter = undefined;
      this.#failWaiter = undefined;
      waiter({ value: WAKE, done: false });
    } else {
      this.#wakePending = true;
    }
  }

  /** Ends the subscription and releases every symbol; with an error, the reader's next read throws it. */
  close(error?: unknown): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#error = error;
    if (this.#heartbeatTimer !== undefined) clearInterval(this.#heartbeatTimer);
    for (const id of this.#symbols) this.#hub.remove(id, this);
    this.#symbols.clear();
    this.#reset([]);
    const waiter = this.#waiter;
    const fail = this.#failWaiter;
    this.#waiter = undefined;
    this.#failWaiter = undefined;
    if (error !== undefined && fail !== undefined) fail(error);
    else waiter?.({ value: undefined, done: true });
    this.#onClose?.();
  }

  next(): Promise<IteratorResult<SubscriptionEvent>> {
    const ready = this.#take();
    if (ready !== undefined) return Promise.resolve({ value: ready, done: false });
    if (this.#closed) {
      if (this.#error !== undefined) {
        const error = this.#error;
        this.#error = undefined;
        return Promise.reject(error);
      }
      return Promise.resolve({ value: undefined, done: true });
    }
    return new Promise((resolve, reject) => {
      this.#waiter = resolve;
      this.#failWaiter = reject;
    });
  }

  /**
   * Reads every event that is ready, waiting for the first; undefined once
   * the subscription ended. A reader that writes in batches pays one wait
   * per burst of updates instead of one per update.
   */
  async nextBatch(): Promise<SubscriptionEvent[] | undefined> {
    const first = await this.next();
    if (first.done === true) return undefined;
    const batch: SubscriptionEvent[] = [first.value];
    for (let event = this.#take(); event !== undefined; event = this.#take()) batch.push(event);
    return batch;
  }

  return(): Promise<IteratorResult<SubscriptionEvent>> {
    this.close();
    return Promise.resolve({ value: undefined, done: true });
  }

  [Symbol.asyncIterator](): AsyncIterableIterator<SubscriptionEvent> {
    return this;
  }

  // The next event that is ready now, if any, skipping stale updates.
  #take(): SubscriptionEvent | undefined {
    if (this.#wakePending) {
      this.#wakePending = false;
      return WAKE;
    }
    while (this.pending > 0) {
      const snapshot = this.#queue[this.#head]!;
      this.#head++;
      if (this.#latest.get(snapshot.symbolId) === this.#head - 1) this.#latest.delete(snapshot.symbolId);
      if (this.pending === 0) this.#reset([]);
      else if (this.#head >= COMPACT_AFTER) this.#compact();
      if (snapshot.sequence <= (this.#delivered.get(snapshot.symbolId) ?? 0)) continue;
      this.#markDelivered(snapshot);
      return snapshot;
    }
    return undefined;
  }

  #markDelivered(snapshot: Snapshot): void {
    this.#delivered.set(snapshot.symbolId, snapshot.sequence);
    this.#lastActivity = Date.now();
  }

  #beat(heartbeatMs: number): void {
    const waiter = this.#waiter;
    if (waiter === undefined || Date.now() - this.#lastActivity < heartbeatMs) return;
    this.#waiter = undefined;
    this.#failWaiter = undefined;
    this.#lastActivity = Date.now();
    waiter({ value: HEARTBEAT, done: false });
  }

  #reset(keep: Snapshot[]): void {
    this.#queue = keep;
    this.#head = 0;
    this.#latest.clear();
    for (let i = 0; i < keep.length; i++) this.#latest.set(keep[i]!.symbolId, i);
  }

  #compact(): void {
    this.#reset(this.#queue.slice(this.#head));
  }
}

import type { Snapshot } from "./snapshot.js";
import type { Cohort } from "./cohort.js";
import type { Interest, Subscription } from "./subscription.js";

/**
 * SymbolSlot is the hub's state for one symbol somebody subscribes to: its
 * newest snapshot and the interests waiting on it.
 */
export interface SymbolSlot {
  readonly symbolId: number;
  /** The newest snapshot of the symbol the hub has seen; undefined until the first. */
  latest: Snapshot | undefined;
  readonly interests: Set<Interest>;
  /** Streams that receive the symbol, alone or as members of a cohort. */
  streams: number;
  /** True while the slot waits in the hub's list of symbols changed since the last cycle. */
  dirty: boolean;
  /**
   * The updates published since the last delivery cycle, oldest first (at
   * most FRESH_LIMIT): a stream that is up to date gets every one of them,
   * a stream that is behind only the latest.
   */
  readonly fresh: Snapshot[];
}

/**
 * FRESH_LIMIT is the most updates of one symbol a delivery cycle hands on
 * one by one; past it, a cycle late enough to see more sends the latest
 * only, so that an overloaded process conflates instead of queueing.
 */
export const FRESH_LIMIT = 64;

// How often what parked streams miss is counted into the conflation metrics.
const SETTLE_INTERVAL_MS = 1000;

// Batches compared with a new one: streams alike are flushed one after
// another, so the last few are where a match is.
const SHARE_LOOKBACK = 4;

/**
 * HubOptions configure when the hub delivers.
 */
export interface HubOptions {
  /**
   * Shortest time between two delivery cycles, in milliseconds: an update
   * after a quiet spell goes out on the next turn of the event loop, updates
   * arriving faster are gathered and go out together. 0 runs a cycle every
   * turn. Default 5.
   */
  flushWindowMs?: number;
  /** Quiet time after which a stream gets a heartbeat; 0 disables. Default 0. */
  heartbeatMs?: number;
}

/**
 * Hub fans snapshot updates out to subscriptions, at a cost that grows with
 * delivery cycles times streams, not with updates times subscribers.
 *
 * Publishing an update only keeps it as the symbol's latest and marks the
 * symbol changed. A delivery cycle then hands each subscription every
 * symbol that changed since its last delivery, as one batch of the latest
 * snapshots: a burst of updates of one symbol costs one delivery, and a
 * stream that cannot be written to keeps only "these symbols changed"
 * (conflation, seen by its client as a jump in sequence numbers) instead of
 * a queue that grows.
 */
export class Hub {
  readonly #slots = new Map<number, SymbolSlot>();
  readonly #flushWindowMs: number;
  readonly #heartbeatMs: number;
  readonly #subscriptions = new Set<Subscription>();
  readonly #parked = new Set<Subscription>();
  #settleTimer: NodeJS.Timeout | undefined;
  readonly #cohorts = new Map<string, Cohort>();
  #dirty: SymbolSlot[] = [];
  #ready: Subscription[] = [];
  #interestCount = 0;
  #lastCycle = Number.NEGATIVE_INFINITY;
  #immediate: NodeJS.Immediate | undefined;
  #timer: NodeJS.Timeout | undefined;
  #timerDue = Number.POSITIVE_INFINITY;
  #cycling = false;
  #readyDue = Number.POSITIVE_INFINITY;
  #readyNow = false;
  #heartbeatTimer: NodeJS.Timeout | undefined;
  // This cycle's batches, so that streams with the same symbols, up to
  // date alike, are handed one array: what encodes it once serves them all.
  #batches: (readonly Snapshot[])[] = [];

  constructor(options: HubOptions = {}) {
    this.#flushWindowMs = options.flushWindowMs ?? 5;
    this.#heartbeatMs = options.heartbeatMs ?? 0;
  }

  /** Keeps an update as its symbol's latest and schedules its delivery; an older or repeated one is ignored. */
  publish(snapshot: Snapshot): void {
    const slot = this.#slots.get(snapshot.symbolId);
    if (slot === undefined) return;
    const latest = slot.latest;
    if (latest !== undefined && snapshot.sequence <= latest.sequence) return;
    slot.latest = snapshot;
    const fresh = slot.fresh;
    // Past the limit the run of updates is broken on purpose: streams see
    // a jump to the latest rather than a backlog.
    if (fresh.length >= FRESH_LIMIT) fresh.length = 0;
    fresh.push(snapshot);
    this.#markDirty(slot);
  }

  /**
   * Takes the store's current snapshot of a symbol after the store was
   * unreachable (undefined when it no longer has one), even if its sequence
   * is lower: a store that came back without its data numbers from 1 again.
   */
  resync(symbolId: number, current: Snapshot | undefined): void {
    const slot = this.#slots.get(symbolId);
    if (slot === undefined) return;
    slot.latest = current;
    slot.fresh.length = 0;
    for (const interest of slot.interests) {
      if (current === undefined) interest.sent = 0;
      // An equal sequence is taken for what the stream already has: a brief
      // outage must not resend every symbol to every stream.
      else if (current.sequence < interest.sent) interest.sent = current.sequence - 1;
    }
    if (current !== undefined) this.#markDirty(slot);
  }

  /** Symbols that have at least one subscriber. */
  symbolIds(): IterableIterator<number> {
    return this.#slots.keys();
  }

  /** Number of streams that receive one symbol. */
  subscriberCount(symbolId: number): number {
    return this.#slots.get(symbolId)?.streams ?? 0;
  }

  /** Number of cohorts of streams alike being served. */
  get cohortCount(): number {
    return this.#cohorts.size;
  }

  /** Number of (stream, symbol) pairs registered: zero once every stream has let go. */
  get subscriptionCount(): number {
    return this.#interestCount;
  }

  /** Stops the hub's timers; subscriptions are closed by their owners. */
  close(): void {
    if (this.#immediate !== undefined) clearImmediate(this.#immediate);
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    if (this.#heartbeatTimer !== undefined) clearInterval(this.#heartbeatTimer);
    if (this.#settleTimer !== undefined) clearInterval(this.#settleTimer);
    this.#immediate = this.#timer = this.#heartbeatTimer = this.#settleTimer = undefined;
  }

  /** @internal The slot of a symbol, made when its first interest arrives. */
  slotOf(symbolId: number): SymbolSlot {
    let slot = this.#slots.get(symbolId);
    if (slot === undefined) {
      slot = { symbolId, latest: undefined, interests: new Set(), streams: 0, dirty: false, fresh: [] };
      this.#slots.set(symbolId, slot);
    }
    return slot;
  }

  /** @internal Registers an interest in its slot, so that cycles mark it. */
  register(interest: Interest): void {
    interest.slot.interests.add(interest);
  }

  /** @internal Withdraws an interest from its slot; a slot nobody wants is forgotten. */
  unregister(interest: Interest): void {
    const slot = interest.slot;
    if (!slot.interests.delete(interest)) return;
    this.#forgetIfUnwanted(slot);
  }

  /** @internal Counts a stream in or out of a symbol's receivers. */
  count(slot: SymbolSlot, delta: 1 | -1): void {
    slot.streams += delta;
    this.#interestCount += delta;
    if (delta < 0) this.#forgetIfUnwanted(slot);
  }

  /**
   * @internal The cohort of streams alike (same symbols, mode and rate) a
   * stream may join, made when the first one asks; undefined when the hub
   * has no snapshot yet of one of the symbols to start a cohort from.
   */
  cohortFor(key: string, make: () => Cohort | undefined): Cohort | undefined {
    let cohort = this.#cohorts.get(key);
    if (cohort === undefined) {
      cohort = make();
      if (cohort !== undefined) this.#cohorts.set(key, cohort);
    }
    return cohort;
  }

  /** @internal Forgets a cohort whose last member left. */
  dropCohort(key: string, cohort: Cohort): void {
    if (this.#cohorts.get(key) === cohort) this.#cohorts.delete(key);
  }

  #forgetIfUnwanted(slot: SymbolSlot): void {
    if (slot.interests.size === 0 && slot.streams === 0 && this.#slots.get(slot.symbolId) === slot) this.#slots.delete(slot.symbolId);
  }

  /** @internal Tracks an open subscription (for heartbeats). */
  track(subscription: Subscription): void {
    this.#subscriptions.add(subscription);
    if (this.#heartbeatMs > 0 && this.#heartbeatTimer === undefined) {
      // One coarse timer for every stream: heartbeats are rare, streams many.
      this.#heartbeatTimer = setInterval(() => this.#beat(), Math.max(10, this.#heartbeatMs / 2));
      this.#heartbeatTimer.unref();
    }
  }

  /** @internal Forgets a closed subscription. */
  untrack(subscription: Subscription): void {
    this.#subscriptions.delete(subscription);
    if (this.#subscriptions.size === 0 && this.#heartbeatTimer !== undefined) {
      clearInterval(this.#heartbeatTimer);
      this.#heartbeatTimer = undefined;
    }
  }

  /**
   * @internal Takes a stream that cannot be written to out of the cycles'
   * way (its interests already left their slots); what it misses is
   * counted now and then, at a cost per second rather than per cycle.
   */
  park(subscription: Subscription): void {
    this.#parked.add(subscription);
    if (this.#settleTimer === undefined) {
      this.#settleTimer = setInterval(() => {
        for (const parked of this.#parked) parked.settle();
      }, SETTLE_INTERVAL_MS);
      this.#settleTimer.unref();
    }
  }

  /** @internal Forgets a parked stream that drained or closed. */
  unpark(subscription: Subscription): void {
    this.#parked.delete(subscription);
    if (this.#parked.size === 0 && this.#settleTimer !== undefined) {
      clearInterval(this.#settleTimer);
      this.#settleTimer = undefined;
    }
  }

  /** Streams parked because they cannot be written to. */
  get parkedCount(): number {
    return this.#parked.size;
  }

  /**
   * @internal Gives back an array of this cycle with the same snapshots in
   * the same order, if a recent delivery had one, or keeps this one (frozen)
   * for the next: streams handed the same array may share its encoding.
   */
  share(updates: Snapshot[]): readonly Snapshot[] {
    const batches = this.#batches;
    const length = updates.length;
    for (let i = batches.length - 1, tries = 0; i >= 0 && tries < SHARE_LOOKBACK; i--, tries++) {
      const batch = batches[i]!;
      if (batch.length !== length) continue;
      let same = true;
      for (let j = 0; j < length && same; j++) same = batch[j] === updates[j];
      if (same) return batch;
    }
    batches.push(Object.freeze(updates));
    return updates;
  }

  /** @internal Puts a subscription with something to deliver in the next cycle. */
  enqueue(subscription: Subscription): void {
    this.#ready.push(subscription);
    this.#readyNow = true;
    if (!this.#cycling) this.#schedule(0);
  }

  /** @internal Puts a subscription whose rate holds updates back in a cycle no earlier than `due`. */
  defer(subscription: Subscription, due: number): void {
    this.#ready.push(subscription);
    if (due < this.#readyDue) this.#readyDue = due;
    if (!this.#cycling) this.#schedule(due);
  }

  #markDirty(slot: SymbolSlot): void {
    if (slot.dirty) return;
    slot.dirty = true;
    this.#dirty.push(slot);
    if (!this.#cycling) this.#schedule(0);
  }

  // One cycle at a time, never sooner than the window after the last one:
  // an update after a quiet spell goes out at once, a stream of updates in
  // gatherings of one window each.
  #schedule(due: number): void {
    if (this.#immediate !== undefined) return;
    const now = performance.now();
    const at = Math.max(due, this.#lastCycle + this.#flushWindowMs);
    if (at <= now) {
      if (this.#timer !== undefined) {
        clearTimeout(this.#timer);
        this.#timer = undefined;
        this.#timerDue = Number.POSITIVE_INFINITY;
      }
      this.#immediate = setImmediate(this.#cycle);
      return;
    }
    if (this.#timer !== undefined && this.#timerDue <= at) return;
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timerDue = at;
    this.#timer = setTimeout(this.#cycle, at - now);
  }

  readonly #cycle = (): void => {
    this.#immediate = undefined;
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#timerDue = Number.POSITIVE_INFINITY;
    const now = performance.now();
    this.#lastCycle = now;
    this.#cycling = true;
    try {
      const dirty = this.#dirty;
      this.#dirty = [];
      for (let i = 0; i < dirty.length; i++) {
        const slot = dirty[i]!;
        slot.dirty = false;
        for (const interest of slot.interests) interest.subscription.mark(interest);
      }
      const ready = this.#ready;
      this.#ready = [];
      this.#readyNow = false;
      this.#readyDue = Number.POSITIVE_INFINITY;
      for (let i = 0; i < ready.length; i++) ready[i]!.flush(now);
      // What a later cycle hands on starts after what this one did.
      for (let i = 0; i < dirty.length; i++) dirty[i]!.fresh.length = 0;
      this.#batches = [];
    } finally {
      this.#cycling = false;
    }
    // What the cycle itself produced (streams held back by their rate, a
    // sink that asked for more at once) goes in a later one.
    if (this.#dirty.length > 0 || this.#readyNow) this.#schedule(0);
    else if (this.#ready.length > 0) this.#schedule(this.#readyDue);
  };

  #beat(): void {
    const now = performance.now();
    for (const subscription of this.#subscriptions) subscription.beat(now, this.#heartbeatMs);
  }
}

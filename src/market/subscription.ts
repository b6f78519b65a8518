import { SlowConsumerError } from "./errors.js";
import { Cohort } from "./cohort.js";
import type { FieldMode } from "./field-mode.js";
import type { Hub, SymbolSlot } from "./hub.js";
import type { Snapshot } from "./snapshot.js";

/** OverflowPolicy says what happens when a stream falls behind. */
export type OverflowPolicy = "conflate" | "close";

/**
 * SubscriptionOptions configure one stream's subscription.
 */
export interface SubscriptionOptions {
  /** Updates a stream may fall behind by, while it cannot be written to, before the overflow policy applies. Default 1024. */
  bufferSize?: number;
  /** What to do when a stream falls that far behind. Default "conflate". */
  overflow?: OverflowPolicy;
  /** Called with the number of updates a delivery skipped for a newer one of the same symbol. */
  onConflate?: (skipped: number) => void;
  /** Called once when the subscription closes, for whatever reason. */
  onClose?: () => void;
  /** @internal True for a cohort's own subscription, which stands for its members and is not a stream itself. */
  internal?: boolean;
}

/**
 * InterestOptions say how a stream wants one symbol delivered.
 */
export interface InterestOptions {
  /** Most updates of the symbol per second, always the latest; 0 means every one. Default 0. */
  maxUpdatesPerSecond?: number;
  /** Which fields the stream wants. Default "quote". */
  mode?: FieldMode;
}

/**
 * SubscriptionSink takes what a subscription delivers: the sending side of
 * a stream.
 */
export interface SubscriptionSink {
  /**
   * Takes the latest snapshots of the symbols that changed since the last
   * delivery, one per symbol. Returns false when it cannot take more until
   * the owner calls resume(); meanwhile the subscription only remembers
   * which symbols changed.
   */
  deliver(updates: readonly Snapshot[]): boolean;
  /** Takes a heartbeat, due on a quiet stream; the same answer as deliver. */
  heartbeat(): boolean;
  /** Hears, once, that the subscription closed: with the error that ended it, or undefined when its owner closed it. */
  closed(error: unknown): void;
}

/**
 * Interest is one stream's interest in one symbol: what it last sent and
 * how it wants the symbol delivered.
 */
export interface Interest {
  readonly subscription: Subscription;
  readonly slot: SymbolSlot;
  readonly mode: FieldMode;
  /** Shortest time between two deliveries of the symbol, in milliseconds. */
  readonly minIntervalMs: number;
  /** Sequence of the last snapshot delivered; 0 before the first. */
  sent: number;
  /** The last snapshot delivered. */
  last: Snapshot | undefined;
  lastSentAt: number;
  /** True while the symbol waits in the stream's list of changed symbols. */
  pending: boolean;
  /** Updates counted as skipped while the symbol waited, since its last delivery. */
  skipped: number;
  removed: boolean;
}

/**
 * Subscription is one stream's interest in a changing set of symbols.
 *
 * It holds no queue of updates: only which of its symbols changed since
 * its last delivery. When the stream keeps up, every update passes in
 * order; when it cannot be written to, or its rate holds a symbol back, a
 * newer update of a symbol replaces the undelivered one (conflation, seen
 * by the client as a jump in sequence numbers) or, by policy, a stream that
 * fell too far behind ends with SlowConsumerError. Memory per stream is
 * bounded by its number of symbols, and a slow stream never slows the
 * publisher or the other streams.
 */
export class Subscription {
  readonly #hub: Hub;
  readonly #interests = new Map<number, Interest>();
  readonly #bufferSize: number;
  readonly #overflow: OverflowPolicy;
  readonly #onConflate: ((skipped: number) => void) | undefined;
  readonly #onClose: (() => void) | undefined;
  readonly #internal: boolean;
  #cohort: Cohort | undefined;
  #pending: Interest[] = [];
  #sink: SubscriptionSink | undefined;
  #queued = false;
  #blocked = false;
  // A blocked stream under "conflate" is parked: its interests leave their
  // slots, so that delivery cycles pass it by at no cost, and what it
  // missed is read from the slots' latest snapshots when it drains.
  #parked = false;
  #behind = 0;
  #conflated = 0;
  #closed = false;
  #lastActivity = performance.now();

  constructor(hub: Hub, options: SubscriptionOptions = {}) {
    this.#hub = hub;
    this.#bufferSize = options.bufferSize ?? 1024;
    this.#overflow = options.overflow ?? "conflate";
    this.#onConflate = options.onConflate;
    this.#onClose = options.onClose;
    this.#internal = options.internal ?? false;
    hub.track(this);
  }

  /** Symbols this subscription currently receives. */
  get symbols(): ReadonlySet<number> {
    return new Set(this.#interests.keys());
  }

  /** Number of symbols this subscription currently receives. */
  get size(): number {
    return this.#interests.size;
  }

  /** Tells whether the subscription receives a symbol. */
  has(symbolId: number): boolean {
    return this.#interests.has(symbolId);
  }

  /** The one field mode of all its symbols, undefined when they differ (or there are none). */
  get soleMode(): FieldMode | undefined {
    let mode: FieldMode | undefined;
    for (const interest of this.#interests.values()) {
      if (mode === undefined) mode = interest.mode;
      else if (mode !== interest.mode) return undefined;
    }
    return mode;
  }

  /** The field mode a symbol was subscribed with; "quote" for one not subscribed. */
  modeOf(symbolId: number): FieldMode {
    return this.#interests.get(symbolId)?.mode ?? "quote";
  }

  /** Updates replaced by newer ones of the same symbol before they were delivered. */
  get conflatedCount(): number {
    if (this.#parked) this.settle();
    return this.#conflated;
  }

  /** Symbols that changed and wait for delivery. */
  get pending(): number {
    if (!this.#parked) return this.#pending.length;
    let changed = 0;
    for (const interest of this.#interests.values()) if (interest.pending || isBehind(interest)) changed++;
    return changed;
  }

  /** True once closed, by the owner or by the overflow policy. */
  get closed(): boolean {
    return this.#closed;
  }

  /** Starts receiving updates of the given symbols; returns those that were new. */
  add(symbolIds: Iterable<number>, options: InterestOptions = {}): number[] {
    const added: number[] = [];
    if (this.#closed) return added;
    if (this.#cohort !== undefined) this.#leaveCohort(false);
    const rate = options.maxUpdatesPerSecond ?? 0;
    const minIntervalMs = rate > 0 ? 1000 / rate : 0;
    const mode = options.mode ?? "quote";
    for (const id of symbolIds) {
      if (this.#interests.has(id)) continue;
      const interest: Interest = {
        subscription: this,
        slot: this.#hub.slotOf(id),
        mode,
        minIntervalMs,
        sent: 0,
        last: undefined,
        lastSentAt: Number.NEGATIVE_INFINITY,
        pending: false,
        skipped: 0,
        removed: false,
      };
      this.#interests.set(id, interest);
      if (!this.#parked) this.#hub.register(interest);
      if (!this.#internal) this.#hub.count(interest.slot, 1);
      added.push(id);
    }
    return added;
  }

  /** Stops receiving updates of the given symbols, dropping any not yet delivered; returns those that were removed. */
  remove(symbolIds: Iterable<number>): number[] {
    const removed: number[] = [];
    if (this.#cohort !== undefined) this.#leaveCohort(false);
    let wasPending = false;
    for (const id of symbolIds) {
      const interest = this.#interests.get(id);
      if (interest === undefined) continue;
      this.#interests.delete(id);
      interest.removed = true;
      wasPending ||= interest.pending;
      this.#hub.unregister(interest);
      if (!this.#internal) this.#hub.count(interest.slot, -1);
      removed.push(id);
    }
    // Not left for the next flush: a stream held back may add and remove
    // symbols for as long as it likes, and must stay bounded meanwhile.
    if (wasPending) this.#pending = this.#pending.filter((interest) => !interest.removed);
    return removed;
  }

  /**
   * Offers a snapshot read from the store (a stream's initial snapshots):
   * delivered unless an update at least as new was already seen.
   */
  offer(snapshot: Snapshot): void {
    const interest = this.#interests.get(snapshot.symbolId);
    if (interest === undefined || this.#closed) return;
    this.#hub.publish(snapshot);
    // A cohort member has its cohort's snapshots already.
    if (this.#cohort !== undefined) return;
    // The hub keeps the newer of this and what it has. A symbol changed
    // since the last cycle is marked for every stream by the next one, and
    // one already pending delivers the newest anyway: marking it again
    // would count a conflation where nothing was skipped.
    if (!interest.slot.dirty && !interest.pending) this.mark(interest);
  }

  /** Starts delivering to a sink; what changed so far goes in the next cycle. */
  attach(sink: SubscriptionSink): void {
    if (this.#closed) {
      sink.closed(undefined);
      return;
    }
    this.#sink = sink;
    this.#blocked = false;
    if (this.#parked) this.#unpark();
    if (this.#joinCohort()) return;
    if (this.#pending.length > 0) this.#enqueue();
  }

  /** Tells the subscription its sink can take more again. */
  resume(): void {
    if (!this.#blocked || this.#closed) return;
    this.#blocked = false;
    this.#behind = 0;
    if (this.#parked) this.#unpark();
    if (this.#pending.length > 0) this.#enqueue();
  }

  /** Ends the subscription and releases every symbol; the sink hears of it with the error, if any. */
  close(error?: unknown): void {
    if (this.#closed) return;
    // What a parked stream missed is counted before it goes.
    if (this.#parked) {
      this.settle();
      this.#parked = false;
      this.#hub.unpark(this);
    }
    this.#closed = true;
    const cohort = this.#cohort;
    this.#cohort = undefined;
    for (const interest of this.#interests.values()) {
      interest.removed = true;
      if (cohort === undefined) this.#hub.unregister(interest);
      if (!this.#internal) this.#hub.count(interest.slot, -1);
    }
    this.#interests.clear();
    cohort?.leave(this);
    this.#pending = [];
    this.#hub.untrack(this);
    const sink = this.#sink;
    this.#sink = undefined;
    sink?.closed(error);
    this.#onClose?.();
  }

  /** @internal Notes that a symbol changed (called by the hub's cycle, and for offered snapshots). */
  mark(interest: Interest): void {
    if (interest.removed) return;
    if (interest.pending) {
      // What waited is superseded by this cycle's updates: counted now, so
      // that a stream that stays stuck shows in the metrics while it is.
      if (interest.sent > 0) this.#skip(interest, Math.max(1, interest.slot.fresh.length));
    } else {
      interest.pending = true;
      this.#pending.push(interest);
    }
    if (this.#blocked) {
      // Under "close" nothing is dropped silently: a reader that chose it
      // wants every update or to be told it fell behind.
      this.#behind += Math.max(1, interest.slot.fresh.length);
      if (this.#behind > this.#bufferSize && this.#overflow === "close") {
        this.close(new SlowConsumerError(this.#bufferSize));
      }
      return;
    }
    if (this.#sink !== undefined) this.#enqueue();
  }

  /**
   * @internal Delivers what changed and is due (called by the hub's cycle):
   * every update of the cycle to a stream that was up to date, the latest
   * alone to one that was behind (held back by its sink or its rate).
   */
  flush(now: number): void {
    this.#queued = false;
    const sink = this.#sink;
    if (sink === undefined || this.#blocked || this.#closed) return;
    const pending = this.#pending;
    let updates: Snapshot[] | undefined;
    let kept = 0;
    let due = Number.POSITIVE_INFINITY;
    for (let i = 0; i < pending.length; i++) {
      const interest = pending[i]!;
      if (interest.removed) continue;
      const slot = interest.slot;
      const latest = slot.latest;
      const sent = interest.sent;
      if (latest === undefined || latest.sequence <= sent) {
        interest.pending = false;
        continue;
      }
      if (interest.minIntervalMs > 0 && now - interest.lastSentAt < interest.minIntervalMs) {
        pending[kept++] = interest;
        const at = interest.lastSentAt + interest.minIntervalMs;
        if (at < due) due = at;
        continue;
      }
      interest.pending = false;
      interest.sent = latest.sequence;
      interest.last = latest;
      interest.lastSentAt = now;
      updates ??= [];
      const fresh = slot.fresh;
      if (interest.minIntervalMs === 0 && fresh.length > 1 && fresh[0]!.sequence <= sent + 1) {
        for (let j = 0; j < fresh.length; j++) if (fresh[j]!.sequence > sent) updates.push(fresh[j]!);
      } else {
        // A symbol's first snapshot skips nothing; after it, a jump in
        // sequence numbers is what the stream was not sent, less what was
        // counted while it waited.
        if (sent > 0) this.#skip(interest, latest.sequence - sent - 1 - interest.skipped);
        updates.push(latest);
      }
      interest.skipped = 0;
    }
    pending.length = kept;
    if (updates !== undefined) {
      this.#lastActivity = now;
      if (!sink.deliver(this.#hub.share(updates)) && !this.#closed) this.#block();
    }
    if (kept > 0 && !this.#blocked && !this.#closed) {
      this.#queued = true;
      this.#hub.defer(this, due);
    }
  }

  /** @internal Sends a heartbeat if the stream was quiet for `heartbeatMs` (called by the hub's timer). */
  beat(now: number, heartbeatMs: number): void {
    const sink = this.#sink;
    // A cohort member's heartbeats come from its cohort, with its updates.
    if (sink === undefined || this.#cohort !== undefined || this.#blocked || now - this.#lastActivity < heartbeatMs) return;
    this.#lastActivity = now;
    if (!sink.heartbeat() && !this.#closed) this.#block();
  }

  /**
   * @internal Counts what a parked stream has missed so far (called by the
   * hub now and then, and before its count is read): every update of a
   * symbol past the last delivered but the newest, which it will be sent.
   */
  settle(): void {
    for (const interest of this.#interests.values()) {
      const latest = interest.slot.latest;
      if (latest === undefined || interest.sent === 0) continue;
      this.#skip(interest, latest.sequence - interest.sent - 1 - interest.skipped);
    }
  }

  /** @internal The interest in one symbol, for the cohort this subscription stands for. */
  interestOf(symbolId: number): Interest | undefined {
    return this.#interests.get(symbolId);
  }

  /** @internal Starts a cohort's own subscription from the hub's latest snapshots, as if it had delivered them. */
  prime(): void {
    for (const interest of this.#interests.values()) {
      const latest = interest.slot.latest;
      if (latest === undefined) continue;
      interest.sent = latest.sequence;
      interest.last = latest;
    }
  }

  /** @internal The snapshots last delivered, one per symbol: what a stream joining the cohort starts from. */
  lastDelivered(): Snapshot[] {
    const out: Snapshot[] = [];
    for (const interest of this.#interests.values()) if (interest.last !== undefined) out.push(interest.last);
    return out;
  }

  /** @internal Hands a cohort member its cohort's batch; a member whose sink is full goes on alone. */
  deliverShared(updates: readonly Snapshot[], now: number): void {
    const sink = this.#sink;
    if (sink === undefined || this.#closed || this.#cohort === undefined) return;
    this.#lastActivity = now;
    if (!sink.deliver(updates) && !this.#closed) this.#leaveCohort(true);
  }

  /** @internal Hands a cohort member its cohort's heartbeat. */
  heartbeatShared(now: number): void {
    const sink = this.#sink;
    if (sink === undefined || this.#closed || this.#cohort === undefined) return;
    this.#lastActivity = now;
    if (!sink.heartbeat() && !this.#closed) this.#leaveCohort(true);
  }

  /** @internal Counts updates the cohort's delivery skipped for this member. */
  countSkipped(count: number): void {
    this.#conflated += count;
    this.#onConflate?.(count);
  }

  // Streams alike (the same symbols, each with the same mode and rate) are
  // served by one cohort: one set of marks, one batch and one encoding per
  // cycle for all of them, where each stream alone would cost them all again.
  #joinCohort(): boolean {
    if (this.#internal || this.#interests.size === 0) return false;
    let mode: FieldMode | undefined;
    let minIntervalMs = 0;
    for (const interest of this.#interests.values()) {
      if (mode === undefined) {
        mode = interest.mode;
        minIntervalMs = interest.minIntervalMs;
      } else if (mode !== interest.mode || minIntervalMs !== interest.minIntervalMs) return false;
    }
    const ids = [...this.#interests.keys()].sort((a, b) => a - b);
    const key = `${mode}/${minIntervalMs}/${ids.join(",")}`;
    const hub = this.#hub;
    const options = { mode, maxUpdatesPerSecond: minIntervalMs > 0 ? 1000 / minIntervalMs : 0 };
    const cohort = hub.cohortFor(key, () => Cohort.start(hub, key, ids, options, (leader) => new Subscription(hub, leader)));
    if (cohort === undefined) return false;
    for (const interest of this.#interests.values()) {
      this.#hub.unregister(interest);
      interest.pending = false;
      interest.skipped = 0;
    }
    this.#pending = [];
    this.#cohort = cohort;
    cohort.join(this);
    return true;
  }

  // Goes on alone from where the cohort's deliveries left it: a member that
  // cannot take more (blocked) then conflates on its own, costing the
  // cohort nothing, and one that changes its symbols keeps what it has.
  #leaveCohort(blocked: boolean): void {
    const cohort = this.#cohort;
    if (cohort === undefined) return;
    this.#cohort = undefined;
    // Read before leaving: the last member out closes the cohort.
    for (const interest of this.#interests.values()) {
      const lead = cohort.leader.interestOf(interest.slot.symbolId);
      if (lead !== undefined) {
        interest.sent = lead.sent;
        interest.last = lead.last;
        interest.lastSentAt = lead.lastSentAt;
      }
    }
    cohort.leave(this);
    if (blocked) {
      this.#behind = 0;
      this.#block();
      if (this.#parked) return;
    }
    for (const interest of this.#interests.values()) this.#hub.register(interest);
  }

  #block(): void {
    this.#blocked = true;
    // Under "close" every update is counted against the buffer as it comes,
    // so the stream stays in the cycles; a cohort's own subscription never blocks.
    if (this.#overflow !== "conflate" || this.#internal || this.#parked) return;
    this.#parked = true;
    for (const interest of this.#interests.values()) this.#hub.unregister(interest);
    this.#hub.park(this);
  }

  #unpark(): void {
    this.#parked = false;
    this.#hub.unpark(this);
    this.settle();
    for (const interest of this.#interests.values()) {
      this.#hub.register(interest);
      const latest = interest.slot.latest;
      // The store came back numbering afresh while the stream was parked:
      // what it has is taken as seen, as the hub's resync does.
      if (latest !== undefined && latest.sequence < interest.sent) interest.sent = latest.sequence - 1;
      if (!interest.pending && isBehind(interest)) {
        interest.pending = true;
        this.#pending.push(interest);
      }
    }
  }

  #skip(interest: Interest, count: number): void {
    if (count <= 0) return;
    interest.skipped += count;
    this.#conflated += count;
    this.#onConflate?.(count);
  }

  #enqueue(): void {
    if (this.#queued) return;
    this.#queued = true;
    this.#hub.enqueue(this);
  }
}

function isBehind(interest: Interest): boolean {
  const latest = interest.slot.latest;
  return latest !== undefined && latest.sequence > interest.sent;
}

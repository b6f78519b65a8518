import type { Hub } from "./hub.js";
import type { Snapshot } from "./snapshot.js";
import type { InterestOptions, Subscription, SubscriptionOptions, SubscriptionSink } from "./subscription.js";

/**
 * Cohort serves streams alike (the same symbols, each with the same mode
 * and rate) as one: its own subscription is marked, flushed and batched
 * once per delivery cycle, and every member is handed that one frozen batch,
 * so a thousand identical streams cost a thousand writes, not a thousand
 * times the work per update.
 *
 * A member whose sink cannot take more leaves and goes on alone, from
 * where the cohort's deliveries left it; the cohort never waits for anyone.
 */
export class Cohort implements SubscriptionSink {
  readonly #hub: Hub;
  readonly #key: string;
  readonly #members = new Set<Subscription>();
  /** The subscription that stands for every member. */
  readonly leader: Subscription;

  private constructor(
    hub: Hub,
    key: string,
    ids: readonly number[],
    options: InterestOptions,
    subscribe: (options: SubscriptionOptions) => Subscription,
  ) {
    this.#hub = hub;
    this.#key = key;
    this.leader = subscribe({
      internal: true,
      onConflate: (skipped) => {
        for (const member of this.#members) member.countSkipped(skipped);
      },
    });
    this.leader.add(ids, options);
    this.leader.prime();
    this.leader.attach(this);
  }

  /**
   * Starts a cohort for the given symbols, from the hub's latest snapshot
   * of each; undefined when the hub has none yet for one of them.
   * `subscribe` makes the cohort's own subscription.
   */
  static start(
    hub: Hub,
    key: string,
    ids: readonly number[],
    options: InterestOptions,
    subscribe: (options: SubscriptionOptions) => Subscription,
  ): Cohort | undefined {
    for (const id of ids) if (hub.slotOf(id).latest === undefined) return undefined;
    return new Cohort(hub, key, ids, options, subscribe);
  }

  /** Number of streams the cohort serves. */
  get size(): number {
    return this.#members.size;
  }

  /** Takes in a member, which starts from the snapshots the cohort delivered last. */
  join(member: Subscription): void {
    this.#members.add(member);
    const start = this.leader.lastDelivered();
    if (start.length > 0) member.deliverShared(start, performance.now());
  }

  /** Lets a member go; the last one out closes the cohort. */
  leave(member: Subscription): void {
    if (!this.#members.delete(member) || this.#members.size > 0) return;
    this.#hub.dropCohort(this.#key, this);
    this.leader.close();
  }

  deliver(updates: readonly Snapshot[]): boolean {
    const now = performance.now();
    for (const member of this.#members) member.deliverShared(updates, now);
    return true;
  }

  heartbeat(): boolean {
    const now = performance.now();
    for (const member of this.#members) member.heartbeatShared(now);
    return true;
  }

  closed(error: unknown): void {
    // Only the last member leaving closes the cohort's subscription; anything
    // else ending it ends the members too.
    for (const member of [...this.#members]) member.close(error);
  }
}

/**
 * StoreHealth is the part of a snapshot store the health monitor watches.
 */
export interface StoreHealth {
  readonly healthy: boolean;
  onHealthChange(listener: (healthy: boolean) => void): () => void;
}

/** ServingStatus is what health checks report for the server or one service. */
export type ServingStatus = "SERVING" | "NOT_SERVING";

/** HealthListener hears every change of the server's serving status. */
export type HealthListener = (status: ServingStatus) => void;

/**
 * HealthMonitor knows whether the gateway should take traffic: it serves
 * while its store is healthy and it is not draining for shutdown.
 *
 * Every service the gateway registers depends on the store, so each has the
 * server's status; the empty name stands for the whole server, as in
 * grpc.health.v1. Names it was not told about are unknown.
 */
export class HealthMonitor {
  readonly #services: ReadonlySet<string>;
  readonly #store: StoreHealth;
  readonly #listeners = new Set<HealthListener>();
  readonly #stopWatchingStore: () => void;
  #draining = false;
  #status: ServingStatus;

  constructor(store: StoreHealth, services: Iterable<string>) {
    this.#store = store;
    this.#services = new Set(["", ...services]);
    this.#status = this.#compute();
    this.#stopWatchingStore = store.onHealthChange(() => this.#update());
  }

  /** The server's serving status. */
  get status(): ServingStatus {
    return this.#status;
  }

  /** True once drain() was called: the server is on its way out. */
  get draining(): boolean {
    return this.#draining;
  }

  /** Names health checks may ask about ("" for the whole server). */
  get services(): ReadonlySet<string> {
    return this.#services;
  }

  /** Returns the status of one service, or undefined for a name it does not know. */
  statusOf(service: string): ServingStatus | undefined {
    return this.#services.has(service) ? this.#status : undefined;
  }

  /** Registers a listener for status changes; returns the function that removes it. */
  onChange(listener: HealthListener): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** Turns every status NOT_SERVING for good, so that balancers stop sending traffic before shutdown. */
  drain(): void {
    if (this.#draining) return;
    this.#draining = true;
    this.#update();
  }

  /** Stops watching the store. */
  close(): void {
    this.#stopWatchingStore();
    this.#listeners.clear();
  }

  #compute(): ServingStatus {
    return !this.#draining && this.#store.healthy ? "SERVING" : "NOT_SERVING";
  }

  #update(): void {
    const status = this.#compute();
    if (status === this.#status) return;
    this.#status = status;
    for (const listener of [...this.#listeners]) listener(status);
  }
}

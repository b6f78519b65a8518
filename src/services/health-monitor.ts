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
 *
 * A service may also depend on a store of its own (history on its
 * database): it is NOT_SERVING while that store is down, but the server, and
 * /readyz with it, stay SERVING, because live prices do not need it and a
 * balancer that pulled the replica would stop them too.
 */
export class HealthMonitor {
  readonly #services: ReadonlySet<string>;
  readonly #store: StoreHealth;
  readonly #listeners = new Set<HealthListener>();
  readonly #stopWatchingStore: () => void;
  readonly #dependencies: ReadonlyMap<string, StoreHealth>;
  readonly #stopWatchingDependencies: Array<() => void> = [];
  #draining = false;
  #status: ServingStatus;

  constructor(store: StoreHealth, services: Iterable<string>, dependencies: ReadonlyMap<string, StoreHealth> = new Map()) {
    this.#store = store;
    this.#services = new Set(["", ...services]);
    this.#dependencies = dependencies;
    this.#status = this.#compute();
    this.#stopWatchingStore = store.onHealthChange(() => this.#update());
    for (const dependency of new Set(dependencies.values())) {
      this.#stopWatchingDependencies.push(dependency.onHealthChange(() => this.#notify()));
    }
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
    if (!this.#services.has(service)) return undefined;
    const dependency = this.#dependencies.get(service);
    return dependency === undefined || dependency.healthy ? this.#status : "NOT_SERVING";
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
    for (const stop of this.#stopWatchingDependencies) stop();
    this.#listeners.clear();
  }

  #compute(): ServingStatus {
    return !this.#draining && this.#store.healthy ? "SERVING" : "NOT_SERVING";
  }

  #update(): void {
    const status = this.#compute();
    if (status === this.#status) return;
    this.#status = status;
    this.#notify();
  }

  // Listeners hear the server's status; a service's own changes reach them
  // too, and they ask statusOf for the service they watch.
  #notify(): void {
    for (const listener of [...this.#listeners]) listener(this.#status);
  }
}

import { Redis, type RedisOptions, type Result } from "ioredis";
import { StoreUnavailableError } from "./errors.js";
import { decodeSnapshot, tickArguments } from "./redis-snapshot-codec.js";
import { FOLD_TICKS_SCRIPT, LIST_SNAPSHOTS_SCRIPT } from "./redis-scripts.js";
import { foldTick, type Snapshot, type Tick } from "./snapshot.js";
import type { SnapshotStore, TickAdmission, UpdateListener } from "./snapshot-store.js";

/**
 * StoreLogger is where a store reports connection trouble; pino's logger
 * (Fastify's `app.log`) fits.
 */
export interface StoreLogger {
  info(details: object, message: string): void;
  warn(details: object, message: string): void;
  error(details: object, message: string): void;
}

/**
 * RedisSnapshotStoreOptions configure the Redis-backed store.
 */
export interface RedisSnapshotStoreOptions {
  /** Redis URL, `redis://[user:password@]host:port[/db]` or `rediss://` for TLS. Required. */
  url: string;
  /** Prefix of every key and channel, so several deployments can share one Redis. Default "stockify:". */
  keyPrefix?: string;
  /** Most ticks folded by one script call; bigger batches are split and pipelined. Default 500. */
  ticksPerScript?: number;
  /**
   * Bound on noticing a Redis that stops answering (a frozen process, a
   * network that drops packets). A connection that leaves a command or PING
   * unanswered for half of it counts as hung, and an idle connection is
   * PINGed every quarter of it, so a freeze is noticed within this long:
   * the store turns unhealthy, the calls waiting on Redis fail with
   * StoreUnavailableError, and so does every call after them until Redis
   * answers again. Default 1000 ms.
   */
  timeoutMs?: number;
  /** Longest wait between reconnection attempts (the backoff doubles up to it). Default 2000 ms. */
  maxReconnectDelayMs?: number;
  /** Where connection trouble is reported. Default: nowhere. */
  logger?: StoreLogger;
}

/**
 * RedisSnapshotStore keeps snapshots in Redis and announces updates over Redis
 * pub/sub, so every gateway on the same Redis serves the same snapshots and
 * receives every update, whichever gateway wrote it.
 *
 * Each batch of ticks is folded by a Lua script that reads, updates and
 * publishes the snapshots atomically, so concurrent writers never lose an
 * update or reorder sequence numbers. Updates are announced only as they come
 * back from the channel, writer's own included: every replica sees them in
 * the one order Redis executed them.
 *
 * While Redis is unreachable every call fails at once with
 * StoreUnavailableError (no offline queue, no retries of a command), `healthy`
 * is false, and both connections reconnect with backoff; the subscriber
 * connection subscribes again before the store reports itself healthy. A
 * Redis that keeps its connections open but stops answering is treated the
 * same way within `timeoutMs` (see RedisSnapshotStoreOptions).
 */
export class RedisSnapshotStore implements SnapshotStore {
  readonly #commands: Redis;
  readonly #subscriber: Redis;
  readonly #symbolsKey: string;
  readonly #snapshotPrefix: string;
  readonly #channel: string;
  readonly #ticksPerScript: number;
  readonly #logger: StoreLogger | undefined;
  readonly #where: string;
  readonly #listeners = new Set<UpdateListener>();
  readonly #healthListeners = new Set<(healthy: boolean) => void>();
  readonly #watchTimer: NodeJS.Timeout;
  readonly #hangAfterMs: number;
  // Start times of the requests each connection has not answered yet, oldest
  // first (Redis answers a connection in order, so the first one is the one to watch).
  readonly #waiting = new Map<Redis, Map<number, number>>();
  // Connections declared hung and not ready again since: calls fail at once meanwhile.
  readonly #hung = new Set<Redis>();
  #requestIds = 0;
  #subscribed = false;
  #healthy = false;
  #closed = false;
  #everHealthy = false;

  constructor(options: RedisSnapshotStoreOptions) {
    const prefix = options.keyPrefix ?? "stockify:";
    this.#symbolsKey = `${prefix}symbols`;
    this.#snapshotPrefix = `${prefix}snapshot:`;
    this.#channel = `${prefix}updates`;
    this.#ticksPerScript = options.ticksPerScript ?? 500;
    this.#logger = options.logger;
    this.#where = redactedUrl(options.url);
    const maxDelay = options.maxReconnectDelayMs ?? 2000;
    const connection: RedisOptions = {
      // Fail fast while Redis is away: a queued command would hang the
      // caller for as long as the outage lasts.
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
      connectTimeout: 5000,
      // A hung connection is dropped at once rather than after waiting 2 s
      // for a goodbye that a frozen server never sends.
      disconnectTimeout: 0,
      retryStrategy: (attempt) => {
        const delay = Math.min(50 * 2 ** Math.min(attempt, 10), maxDelay);
        if (attempt === 1 || attempt % 20 === 0) {
          this.#logger?.warn(
            { redis: this.#where, attempt, retryInMs: delay },
            this.#everHealthy ? "Redis connection lost; reconnecting" : "Redis unavailable; retrying",
          );
        }
        return delay;
      },
    };
    this.#commands = new Redis(options.url, { ...connection, connectionName: "stockify-gateway" });
    this.#commands.defineCommand("stockifyFoldTicks", { lua: FOLD_TICKS_SCRIPT });
    this.#commands.defineCommand("stockifyListSnapshots", { lua: LIST_SNAPSHOTS_SCRIPT, numberOfKeys: 1 });
    // The store subscribes again itself, and only then reports healthy.
    this.#subscriber = new Redis(options.url, {
      ...connection,
      autoResubscribe: false,
      connectionName: "stockify-gateway-updates",
    });

    for (const connection of [this.#commands, this.#subscriber]) {
      // Errors are reported through health and retried; without a listener
      // ioredis would print each one.
      connection.on("error", (error: Error) => {
        if (this.#healthy) this.#logger?.error({ redis: this.#where, err: error.message }, "Redis error");
      });
      this.#waiting.set(connection, new Map());
      connection.on("ready", () => {
        this.#hung.delete(connection);
        this.#refreshHealth();
      });
      connection.on("close", () => {
        // What was waiting has been failed by the client as the connection closed.
        this.#waiting.get(connection)!.clear();
        if (connection === this.#subscriber) this.#subscribed = false;
        this.#refreshHealth();
      });
    }
    this.#subscriber.on("ready", () => void this.#subscribe());
    const timeoutMs = options.timeoutMs ?? 1000;
    this.#hangAfterMs = timeoutMs / 2;
    this.#watchTimer = setInterval(() => {
      this.#watch(this.#commands);
      this.#watch(this.#subscriber);
    }, Math.max(1, Math.floor(timeoutMs / 4)));
    this.#watchTimer.unref();
    this.#subscriber.on("message", (_channel: string, message: string) => this.#announce(message));
  }

  get healthy(): boolean {
    return this.#healthy;
  }

  async get(symbolId: number): Promise<Snapshot | undefined> {
    const packed = await this.#call(() => this.#commands.get(this.#snapshotKey(symbolId)));
    return packed === null ? undefined : decodeSnapshot(packed);
  }

  async getMany(symbolIds: readonly number[]): Promise<Array<Snapshot | undefined>> {
    if (symbolIds.length === 0) return [];
    // One MGET: one command and one round trip whatever the batch size.
    const packed = await this.#call(() => this.#commands.mget(symbolIds.map((id) => this.#snapshotKey(id))));
    return packed.map((value) => (value === null ? undefined : decodeSnapshot(value)));
  }

  async list(): Promise<Snapshot[]> {
    const packed = (await this.#call(() =>
      this.#commands.stockifyListSnapshots(this.#symbolsKey, this.#snapshotPrefix),
    )) as string[];
    return packed.map(decodeSnapshot).sort((a, b) => a.symbolId - b.symbolId);
  }

  async apply(ticks: readonly Tick[], admit?: TickAdmission): Promise<Snapshot[]> {
    if (ticks.length === 0) return [];
    const nowMs = Date.now();
    const now = String(nowMs);
    if (admit !== undefined) await this.#admit(ticks, admit, nowMs);
    const chunks: Array<{ keys: string[]; args: string[] }> = [];
    for (let start = 0; start < ticks.length; start += this.#ticksPerScript) {
      const keys = [this.#symbolsKey];
      const args = [this.#channel, now];
      for (const tick of ticks.slice(start, start + this.#ticksPerScript)) {
        keys.push(this.#snapshotKey(tick.symbolId));
        tickArguments(tick, args);
      }
      chunks.push({ keys, args });
    }
    const results = await this.#call(async () => {
      if (chunks.length === 1) {
        const { keys, args } = chunks[0]!;
        return [(await this.#commands.stockifyFoldTicks(keys.length, ...keys, ...args)) as string[]];
      }
      // Several scripts, one round trip; Redis runs them in order.
      const pipeline = this.#commands.pipeline();
      for (const { keys, args } of chunks) pipeline.stockifyFoldTicks(keys.length, ...keys, ...args);
      const replies = (await pipeline.exec()) ?? [];
      return replies.map(([error, reply]) => {
        if (error) throw error;
        return reply as string[];
      });
    });
    return results.flat().map(decodeSnapshot);
  }

  // Admission sees the snapshots as read just before the write: another
  // gateway's tick for the same symbol may land in between, which the fold
  // script (atomic per batch) orders but does not check again.
  async #admit(ticks: readonly Tick[], admit: TickAdmission, nowMs: number): Promise<void> {
    const ids = [...new Set(ticks.map((tick) => tick.symbolId))];
    const current = await this.getMany(ids);
    const folded = new Map<number, Snapshot | undefined>(ids.map((id, i) => [id, current[i]]));
    for (let i = 0; i < ticks.length; i++) {
      const tick = ticks[i]!;
      const previous = folded.get(tick.symbolId);
      admit(previous, tick, i);
      folded.set(tick.symbolId, foldTick(previous, tick, nowMs));
    }
  }

  onUpdate(listener: UpdateListener): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  onHealthChange(listener: (healthy: boolean) => void): () => void {
    this.#healthListeners.add(listener);
    return () => this.#healthListeners.delete(listener);
  }

  /** Resolves once the store is healthy, or with false after `timeoutMs`. */
  waitUntilHealthy(timeoutMs: number): Promise<boolean> {
    if (this.#healthy) return Promise.resolve(true);
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        stop();
        resolve(false);
      }, timeoutMs);
      const stop = this.onHealthChange((healthy) => {
        if (!healthy) return;
        clearTimeout(timer);
        stop();
        resolve(true);
      });
    });
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    clearInterval(this.#watchTimer);
    this.#listeners.clear();
    this.#healthListeners.clear();
    await Promise.all([quit(this.#commands), quit(this.#subscriber)]);
  }

  #snapshotKey(symbolId: number): string {
    return this.#snapshotPrefix + symbolId;
  }

  async #subscribe(): Promise<void> {
    try {
      await this.#track(this.#subscriber, this.#subscriber.subscribe(this.#channel));
      this.#subscribed = true;
    } catch (error) {
      // The connection dropped again; its next "ready" subscribes anew.
      this.#logger?.warn({ redis: this.#where, err: (error as Error).message }, "Redis subscribe failed");
    }
    this.#refreshHealth();
  }

  // Runs every quarter of the timeout: PINGs a connection that has nothing
  // in flight, so that a freeze of an idle store is noticed too, and drops a
  // connection whose oldest request has waited half the timeout.
  #watch(connection: Redis): void {
    if (connection.status !== "ready" || this.#closed || this.#hung.has(connection)) return;
    const waiting = this.#waiting.get(connection)!;
    const oldest = waiting.entries().next().value;
    if (oldest === undefined) {
      void this.#track(connection, connection.ping()).catch(() => undefined);
      return;
    }
    const [id, startedAt] = oldest;
    if (Date.now() - startedAt < this.#hangAfterMs) return;
    // A gateway whose own event loop was blocked may not have read an answer
    // that is already in the socket: look again after the next poll for I/O.
    setImmediate(() => {
      if (!waiting.has(id) || connection.status !== "ready" || this.#closed) return;
      this.#hang(connection, Date.now() - startedAt);
    });
  }

  #hang(connection: Redis, waitedMs: number): void {
    this.#logger?.warn({ redis: this.#where, waitedMs }, "Redis not answering; reconnecting");
    this.#hung.add(connection);
    this.#refreshHealth();
    // Closing the connection fails every request waiting on it; the reconnection
    // is ready only once Redis answers again.
    connection.disconnect(true);
  }

  #track<T>(connection: Redis, request: Promise<T>): Promise<T> {
    const waiting = this.#waiting.get(connection)!;
    const id = ++this.#requestIds;
    waiting.set(id, Date.now());
    const done = () => void waiting.delete(id);
    request.then(done, done);
    return request;
  }

  #refreshHealth(): void {
    const healthy = !this.#closed && this.#hung.size === 0 && this.#commands.status === "ready" && this.#subscribed;
    if (healthy === this.#healthy) return;
    this.#healthy = healthy;
    if (healthy) {
      this.#logger?.info({ redis: this.#where }, this.#everHealthy ? "Redis connection restored" : "Redis connected");
      this.#everHealthy = true;
    } else if (!this.#closed) {
      this.#logger?.warn({ redis: this.#where }, "Redis unavailable: calls fail with UNAVAILABLE until it is back");
    }
    for (const listener of this.#healthListeners) listener(healthy);
  }

  #announce(message: string): void {
    for (const line of message.split("\n")) {
      let snapshot: Snapshot;
      try {
        snapshot = decodeSnapshot(line);
      } catch (error) {
        this.#logger?.error({ err: (error as Error).message }, "ignoring a malformed update from Redis");
        continue;
      }
      for (const listener of this.#listeners) listener(snapshot);
    }
  }

  async #call<T>(command: () => Promise<T>): Promise<T> {
    if (this.#closed) throw new StoreUnavailableError("the snapshot store is closed");
    if (this.#hung.has(this.#commands)) {
      throw new StoreUnavailableError(`snapshot store unavailable (Redis at ${this.#where}): not answering`);
    }
    try {
      return await this.#track(this.#commands, command());
    } catch (error) {
      throw unavailable(error, this.#where);
    }
  }
}

declare module "ioredis" {
  interface RedisCommander<Context> {
    stockifyFoldTicks(numberOfKeys: number, ...keysAndArgs: string[]): Result<string[], Context>;
    stockifyListSnapshots(symbolsKey: string, snapshotPrefix: string): Result<string[], Context>;
  }
}

/**
 * createRedisSnapshotStore opens a Redis-backed store; it connects (and keeps
 * reconnecting) in the background and is unhealthy until Redis answers.
 */
export function createRedisSnapshotStore(options: RedisSnapshotStoreOptions): RedisSnapshotStore {
  return new RedisSnapshotStore(options);
}

// Server replies that mean "not now" rather than "wrong request".
const TRANSIENT_REPLY = /^(LOADING|BUSY|MASTERDOWN|READONLY|TRYAGAIN|CLUSTERDOWN)\b/;

function unavailable(error: unknown, where: string): unknown {
  const isReply = error instanceof Error && error.name === "ReplyError";
  if (isReply && !TRANSIENT_REPLY.test(error.message)) return error;
  const reason = error instanceof Error ? error.message : String(error);
  return new StoreUnavailableError(`snapshot store unavailable (Redis at ${where}): ${reason}`);
}

async function quit(connection: Redis): Promise<void> {
  if (connection.status === "ready") {
    try {
      await connection.quit();
      return;
    } catch {
      // Fall through to a hard disconnect.
    }
  }
  connection.disconnect();
}

function redactedUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password !== "") parsed.password = "***";
    return parsed.toString();
  } catch {
    return "(unparsable REDIS_URL)";
  }
}

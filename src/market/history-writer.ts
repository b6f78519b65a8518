import { StoreUnavailableError } from "./errors.js";
import type { HistoryStore, TickRecord } from "./history-store.js";

/** HistoryQueuePolicy says what recording does when the write queue is full. */
export type HistoryQueuePolicy = "drop" | "backpressure";

/** HistoryAck says when recording resolves: once queued, or once committed. */
export type HistoryAck = "async" | "durable";

/** HistoryLogger is the part of a logger the writer uses. */
export interface HistoryLogger {
  warn(obj: object, msg: string): void;
  info(obj: object, msg: string): void;
}

/**
 * HistoryWriterOptions configure a HistoryWriter.
 */
export interface HistoryWriterOptions {
  /** Most ticks waiting to be written, the batch being written included. */
  queueLimit: number;
  /** A batch is written as soon as this many ticks wait. */
  batchSize: number;
  /** A smaller batch is written this long after its first tick was queued. */
  flushMs: number;
  /**
   * When the queue is full, "drop" drops the new ticks that do not fit,
   * counting and logging them, and "backpressure" makes `record` wait for
   * room.
   */
  policy: HistoryQueuePolicy;
  /**
   * "async" resolves `record` once its ticks are queued; "durable" once the
   * batch holding them committed, rejecting with StoreUnavailableError
   * after ackTimeoutMs.
   */
  ack: HistoryAck;
  /** How long a durable `record` waits for its commit. */
  ackTimeoutMs: number;
  /** Called after each committed batch with its size and write time. */
  onBatch?: (size: number, ms: number) => void;
  /** Called with the number of ticks each time some are dropped. */
  onDrop?: (count: number) => void;
  logger?: HistoryLogger;
  /** First wait before a failed batch is written again; it doubles up to retryMaxMs. Default 250. */
  retryMinMs?: number;
  /** Longest wait between attempts at a failed batch. Default 5,000. */
  retryMaxMs?: number;
  /** How long `close` keeps writing what is queued. Default 2,000. */
  closeTimeoutMs?: number;
}

const DROP_LOG_INTERVAL_MS = 10_000;
const FAILURE_LOG_INTERVAL_MS = 10_000;

interface CommitWaiter {
  readonly position: number;
  readonly resolve: () => void;
  readonly reject: (error: Error) => void;
}

interface RoomWaiter {
  readonly records: readonly TickRecord[];
  offset: number;
  readonly resolve: (position: number) => void;
  readonly reject: (error: Error) => void;
}

/**
 * HistoryWriter gathers recorded ticks into batches and appends them to a
 * history store, one batch at a time, so that the live path never waits on
 * the database unless asked to.
 *
 * The queue is bounded by `queueLimit` ticks. A batch that fails (the
 * store is down) is kept and tried again, waiting 250 ms doubling to 5 s,
 * while new ticks keep queueing within the bound; writes resume when the
 * store is back, in the order the ticks were recorded. Every tick that is
 * not written is counted in `dropped`: those refused by a full queue under
 * "drop", and those still queued when `close` gives up.
 *
 * Under "durable", a `record` that rejects after ackTimeoutMs leaves its
 * ticks queued: they may still be written, so a producer that publishes
 * them again writes them twice, which the store's idempotence absorbs.
 */
export class HistoryWriter {
  readonly #store: HistoryStore;
  readonly #options: HistoryWriterOptions;
  readonly #retryMinMs: number;
  readonly #retryMaxMs: number;
  #queue: TickRecord[] = [];
  #head = 0;
  #batch: TickRecord[] | undefined; // being written, or waiting to be tried again
  // Positions count ticks in the order they were queued, from 1.
  #enqueued = 0;
  #taken = 0;
  #committed = 0;
  #urgentUntil = 0; // ticks queued up to here are written without waiting for a full batch
  #due = false; // the flush timer fired while a batch was out
  #flushTimer: NodeJS.Timeout | undefined;
  #retryTimer: NodeJS.Timeout | undefined;
  #retryMs: number;
  #failingSince = 0;
  #lastFailureLogAt = Number.NEGATIVE_INFINITY;
  #dropped = 0;
  #lastDropLogAt = Number.NEGATIVE_INFINITY;
  readonly #commitWaiters: CommitWaiter[] = [];
  readonly #roomWaiters: RoomWaiter[] = [];
  #closed = false;
  #stopped = false;

  constructor(store: HistoryStore, options: HistoryWriterOptions) {
    for (const name of ["queueLimit", "batchSize"] as const) {
      if (!Number.isInteger(options[name]) || options[name] < 1) throw new RangeError(`${name} must be a positive integer, not ${options[name]}`);
    }
    for (const name of ["flushMs", "ackTimeoutMs"] as const) {
      if (!(options[name] >= 0)) throw new RangeError(`${name} must not be negative, not ${options[name]}`);
    }
    this.#store = store;
    this.#options = options;
    this.#retryMinMs = options.retryMinMs ?? 250;
    this.#retryMaxMs = options.retryMaxMs ?? 5_000;
    this.#retryMs = this.#retryMinMs;
  }

  /** Ticks queued or being written. */
  get depth(): number {
    return this.#queue.length - this.#head + (this.#batch?.length ?? 0);
  }

  /** Ticks dropped since the writer started. */
  get dropped(): number {
    return this.#dropped;
  }

  /**
   * Queues ticks to be written, resolving as the options say: once queued
   * or dropped ("async"), or once committed ("durable").
   */
  record(records: readonly TickRecord[]): Promise<void> {
    if (records.length === 0) return Promise.resolve();
    const durable = this.#options.ack === "durable";
    if (this.#closed) {
      this.#drop(records.length, false);
      return durable ? Promise.reject(new StoreUnavailableError("the history writer is closed")) : Promise.resolve();
    }
    if (this.#options.policy === "drop") {
      const fits = Math.min(records.length, this.#room());
      if (fits > 0) this.#enqueue(records, 0, fits);
      if (fits < records.length) {
        this.#drop(records.length - fits);
        if (durable) return Promise.reject(new StoreUnavailableError(`the history queue is full: ${records.length - fits} ticks dropped`));
      }
      return durable ? this.#durable(Promise.resolve(this.#enqueued)) : Promise.resolve();
    }
    // Backpressure: ticks queue in the order recorded, behind any caller already waiting.
    let queued: Promise<number>;
    const fits = this.#roomWaiters.length === 0 ? Math.min(records.length, this.#room()) : 0;
    if (fits > 0) this.#enqueue(records, 0, fits);
    if (fits === records.length) queued = Promise.resolve(this.#enqueued);
    else {
      queued = new Promise<number>((resolve, reject) => this.#roomWaiters.push({ records, offset: fits, resolve, reject }));
    }
    return durable ? this.#durable(queued) : queued.then(() => {});
  }

  /**
   * Writes everything queued now, resolving once it has all committed: for
   * as long as the store is down, or until `close` rejects it.
   */
  flush(): Promise<void> {
    const target = this.#enqueued;
    if (this.#committed >= target) return Promise.resolve();
    this.#urgentUntil = Math.max(this.#urgentUntil, target);
    this.#pump();
    return new Promise((resolve, reject) => this.#addCommitWaiter({ position: target, resolve, reject }));
  }

  /**
   * Stops taking ticks and writes what is queued for up to closeTimeoutMs;
   * what is left then is counted as dropped.
   */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    const closedError = new StoreUnavailableError("the history writer is closed");
    for (const waiter of this.#roomWaiters.splice(0)) {
      this.#drop(waiter.records.length - waiter.offset, false);
      waiter.reject(closedError);
    }
    if (this.depth > 0) {
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<void>((resolve) => (timer = setTimeout(resolve, this.#options.closeTimeoutMs ?? 2_000)));
      await Promise.race([this.flush().catch(() => {}), timeout]);
      clearTimeout(timer);
    }
    this.#stopped = true;
    clearTimeout(this.#flushTimer);
    clearTimeout(this.#retryTimer);
    const left = this.depth;
    if (left > 0) {
      this.#options.logger?.warn({ unwritten: left }, "history writer closed with ticks it could not write");
      this.#drop(left, false);
      this.#queue = [];
      this.#head = 0;
      this.#batch = undefined;
    }
    for (const waiter of this.#commitWaiters.splice(0)) waiter.reject(closedError);
  }

  #room(): number {
    return this.#options.queueLimit - this.depth;
  }

  #enqueue(records: readonly TickRecord[], from: number, to: number): void {
    const queue = this.#queue;
    for (let i = from; i < to; i++) queue.push(records[i]!);
    this.#enqueued += to - from;
    this.#pump();
  }

  #drop(count: number, queueFull = true): void {
    this.#dropped += count;
    this.#options.onDrop?.(count);
    if (!queueFull) return;
    const now = performance.now();
    if (now - this.#lastDropLogAt >= DROP_LOG_INTERVAL_MS) {
      this.#lastDropLogAt = now;
      this.#options.logger?.warn({ dropped: this.#dropped, queueLimit: this.#options.queueLimit }, "history queue full: dropping ticks");
    }
  }

  #durable(queued: Promise<number>): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new StoreUnavailableError(`history did not commit within ${this.#options.ackTimeoutMs} ms`)),
        this.#options.ackTimeoutMs,
      );
      const settled = (error?: Error): void => {
        clearTimeout(timer);
        if (error === undefined) resolve();
        else reject(error);
      };
      queued.then(
        (position) => this.#addCommitWaiter({ position, resolve: settled, reject: settled }),
        (error: Error) => settled(error),
      );
    });
  }

  #addCommitWaiter(waiter: CommitWaiter): void {
    if (this.#committed >= waiter.position) {
      waiter.resolve();
      return;
    }
    if (this.#stopped) {
      waiter.reject(new StoreUnavailableError("the history writer is closed"));
      return;
    }
    // Waiters mostly arrive in position order; keep the list sorted for the commit loop.
    const waiters = this.#commitWaiters;
    let i = waiters.length;
    while (i > 0 && waiters[i - 1]!.position > waiter.position) i--;
    waiters.splice(i, 0, waiter);
  }

  // Starts the next batch when one is due, or the timer that makes it due.
  #pump(): void {
    if (this.#stopped) return;
    const queued = this.#queue.length - this.#head;
    if (queued === 0) return;
    if (this.#batch !== undefined) {
      this.#startFlushTimer();
      return;
    }
    const urgent = this.#due || this.#closed || this.#taken < this.#urgentUntil;
    if (queued < this.#options.batchSize && !urgent) {
      this.#startFlushTimer();
      return;
    }
    this.#due = false;
    const size = Math.min(queued, this.#options.batchSize);
    this.#batch = this.#queue.slice(this.#head, this.#head + size);
    this.#head += size;
    this.#taken += size;
    if (this.#head === this.#queue.length) {
      this.#queue = [];
      this.#head = 0;
      clearTimeout(this.#flushTimer);
      this.#flushTimer = undefined;
    } else if (this.#head > 4_096 && this.#head * 2 > this.#queue.length) {
      this.#queue = this.#queue.slice(this.#head);
      this.#head = 0;
    }
    this.#write();
  }

  // A timer left running after a batch was taken was started for older
  // ticks than those still queued, so it may fire early for them, never late.
  #startFlushTimer(): void {
    if (this.#flushTimer !== undefined || this.#due) return;
    this.#flushTimer = setTimeout(() => {
      this.#flushTimer = undefined;
      this.#due = true;
      this.#pump();
    }, this.#options.flushMs);
    this.#flushTimer.unref();
  }

  #write(): void {
    const batch = this.#batch!;
    const started = performance.now();
    let appended: Promise<void>;
    try {
      appended = this.#store.append(batch);
    } catch (error) {
      // A store that throws instead of rejecting is down all the same.
      appended = Promise.reject(error);
    }
    appended.then(
      () => this.#committedBatch(batch, performance.now() - started),
      (error: unknown) => this.#failedBatch(error),
    );
  }

  #committedBatch(batch: TickRecord[], ms: number): void {
    if (this.#batch !== batch) return; // close gave up on it
    this.#batch = undefined;
    this.#committed += batch.length;
    this.#retryMs = this.#retryMinMs;
    if (this.#failingSince !== 0) {
      this.#options.logger?.info({ failedForMs: Math.round(performance.now() - this.#failingSince), depth: this.depth }, "history writes resumed");
      this.#failingSince = 0;
    }
    this.#options.onBatch?.(batch.length, ms);
    const waiters = this.#commitWaiters;
    let done = 0;
    while (done < waiters.length && waiters[done]!.position <= this.#committed) done++;
    for (const waiter of waiters.splice(0, done)) waiter.resolve();
    this.#admitWaiting();
    this.#pump();
  }

  #failedBatch(error: unknown): void {
    if (this.#stopped) return;
    const now = performance.now();
    if (this.#failingSince === 0) this.#failingSince = now;
    if (now - this.#lastFailureLogAt >= FAILURE_LOG_INTERVAL_MS) {
      this.#lastFailureLogAt = now;
      const reason = error instanceof Error ? error.message : String(error);
      this.#options.logger?.warn({ err: reason, retryInMs: this.#retryMs, depth: this.depth }, "history write failed; retrying");
    }
    this.#retryTimer = setTimeout(() => {
      this.#retryTimer = undefined;
      if (!this.#stopped) this.#write();
    }, this.#retryMs);
    this.#retryTimer.unref();
    this.#retryMs = Math.min(this.#retryMs * 2, this.#retryMaxMs);
  }

  // Queues what waiting callers could not, first come first served, as far
  // as the room a commit made allows.
  #admitWaiting(): void {
    const waiters = this.#roomWaiters;
    while (waiters.length > 0) {
      const waiter = waiters[0]!;
      const fits = Math.min(waiter.records.length - waiter.offset, this.#room());
      if (fits <= 0) return;
      this.#enqueue(waiter.records, waiter.offset, waiter.offset + fits);
      waiter.offset += fits;
      if (waiter.offset < waiter.records.length) return;
      waiters.shift();
      waiter.resolve(this.#enqueued);
    }
  }
}

import { create } from "@bufbuild/protobuf";
import { ConnectError, Code } from "@connectrpc/connect";
import {
  StreamMarketDataRequestSchema,
  type StreamMarketDataRequest,
  type StreamMarketDataResponse,
} from "./gen/stockify/v1/market_data_service_pb.js";
import type { Snapshot } from "./gen/stockify/v1/snapshot_pb.js";
import type { ResolvedRetryOptions } from "./client-options.js";
import { resolveDelivery, type Delivery, type DeliveryOptions } from "./delivery-options.js";
import { MessageQueue } from "./message-queue.js";
import { reconnecting, type StreamOptions } from "./reconnecting-stream.js";
import { SequenceTracker } from "./sequence-tracker.js";

/**
 * SubscriptionChange is the gateway's answer to a subscribe or unsubscribe.
 */
export interface SubscriptionChange {
  /** Every symbol the stream delivers now. */
  readonly activeSymbolIds: number[];
  /** Symbols the request named that the gateway refused, with its reason. */
  readonly rejected: Array<{ symbolIds: number[]; reason: string }>;
}

/**
 * MarketDataStreamOptions configure a bidirectional market-data stream; its
 * `mode` and `maxUpdatesPerSecond` apply to every subscribe that names none
 * of its own.
 */
export interface MarketDataStreamOptions extends StreamOptions, DeliveryOptions {
  /** Called when the gateway refuses symbols (unknown, or past its per-stream limit). Default: none. */
  onSymbolError?: (symbolIds: number[], reason: string) => void;
}

/** BidiCall opens one StreamMarketData call. */
export type BidiCall = (requests: AsyncIterable<StreamMarketDataRequest>, signal: AbortSignal) => AsyncIterable<StreamMarketDataResponse>;

/**
 * Snapshots a slow loop may fall behind by before older updates of a symbol
 * are dropped in favour of its latest (the loop then sees a sequence gap).
 */
const BUFFER_LIMIT = 1024;

interface Waiter {
  resolve(change: SubscriptionChange): void;
  reject(error: unknown): void;
}

/** Waiters answered by one request's acknowledgement, and the refusals that came before it. */
interface PendingRequest {
  waiters: Waiter[];
  rejected: SubscriptionChange["rejected"];
}

/**
 * MarketDataStream is a live StreamMarketData call whose symbols change
 * while it runs: iterate it for snapshots, call `subscribe` and
 * `unsubscribe` at any time. When the connection drops it reconnects and
 * subscribes again to every symbol it had, and the sequence numbers of the
 * snapshots tell what was missed in between (see `onGap`).
 *
 * It can be iterated once; the call opens when iteration starts. Responses
 * are read as they arrive, so the loop body may await `subscribe`; a loop
 * that falls more than 1024 snapshots behind gets the latest snapshot of
 * each symbol instead of every update, and sees the gaps.
 *
 * Each symbol keeps the fields and rate it was subscribed with, across
 * reconnects; to change them, unsubscribe the symbol and subscribe it again.
 */
export class MarketDataStream implements AsyncIterable<Snapshot>, AsyncDisposable {
  readonly #call: BidiCall;
  readonly #retry: ResolvedRetryOptions;
  readonly #options: MarketDataStreamOptions;
  readonly #abort = new AbortController();
  readonly #delivery: Delivery;
  /** Each symbol the caller wants, with how it asked for it. */
  readonly #wanted: Map<number, Delivery>;
  readonly #tracker: SequenceTracker;
  #active: number[] = [];
  #queue: MessageQueue<StreamMarketDataRequest> | undefined;
  #pending: PendingRequest[] = [];
  /** Waiters of requests made while no call was open: the next call's first subscribe answers them. */
  #unsent: Waiter[] = [];
  #started = false;
  #reconnects = 0;
  /** Snapshots received and not yet taken by the loop. */
  #buffer: Snapshot[] = [];
  #wake: (() => void) | undefined;
  #pumpDone = false;
  #pumpError: unknown;

  constructor(call: BidiCall, initialSymbolIds: readonly number[], retry: ResolvedRetryOptions, options: MarketDataStreamOptions = {}) {
    this.#call = call;
    this.#retry = retry;
    this.#options = options;
    this.#delivery = resolveDelivery(options);
    this.#wanted = new Map(initialSymbolIds.map((id) => [id, this.#delivery]));
    this.#tracker = new SequenceTracker(options.onGap);
    if (options.signal !== undefined) {
      if (options.signal.aborted) this.#abort.abort(options.signal.reason);
      else options.signal.addEventListener("abort", () => this.#abort.abort(options.signal!.reason), { once: true });
    }
  }

  /** The symbols the caller asked for, as of the last subscribe or unsubscribe. */
  get symbolIds(): number[] {
    return [...this.#wanted.keys()].sort((a, b) => a - b);
  }

  /** The symbols the gateway last confirmed it delivers. */
  get activeSymbolIds(): number[] {
    return [...this.#active];
  }

  /** How many times the stream reconnected. */
  get reconnects(): number {
    return this.#reconnects;
  }

  /** Updates missed so far (sequence jumps), over all symbols. */
  get missed(): bigint {
    return this.#tracker.missed;
  }

  /**
   * Adds symbols, with the stream's fields and rate unless `options` names
   * others; resolves when the gateway confirms them. Symbols the stream
   * already has keep the fields and rate they have.
   */
  subscribe(symbolIds: readonly number[], options?: DeliveryOptions): Promise<SubscriptionChange> {
    let delivery: Delivery;
    try {
      delivery =
        options === undefined
          ? this.#delivery
          : resolveDelivery({
              mode: options.mode ?? this.#options.mode,
              maxUpdatesPerSecond: options.maxUpdatesPerSecond ?? this.#options.maxUpdatesPerSecond,
            });
    } catch (error) {
      return Promise.reject(error);
    }
    const ids = symbolIds.filter((id) => !this.#wanted.has(id));
    for (const id of ids) this.#wanted.set(id, delivery);
    return this.#send(subscribeRequest(ids, delivery));
  }

  /** Removes symbols; their snapshots stop at once, the promise resolves when the gateway confirms. */
  unsubscribe(symbolIds: readonly number[]): Promise<SubscriptionChange> {
    for (const id of symbolIds) {
      this.#wanted.delete(id);
      this.#tracker.forget(id);
    }
    return this.#send(create(StreamMarketDataRequestSchema, { action: { case: "unsubscribe", value: { symbolIds: [...symbolIds] } } }));
  }

  /** Ends the stream; a loop iterating it finishes. */
  close(): Promise<void> {
    this.#abort.abort(new ConnectError("stream closed by the client", Code.Canceled));
    return Promise.resolve();
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  async *[Symbol.asyncIterator](): AsyncGenerator<Snapshot> {
    if (this.#started) throw new Error("a MarketDataStream can be iterated only once");
    this.#started = true;
    // Responses are read in the background, not as the loop pulls them, so
    // that the loop body can await subscribe() and get its acknowledgement.
    const pump = this.#pump();
    try {
      for (;;) {
        while (this.#buffer.length > 0) {
          const snapshot = this.#buffer.shift()!;
          if (this.#wanted.has(snapshot.symbolId) && this.#tracker.observe(snapshot) === "deliver") yield snapshot;
        }
        if (this.#pumpDone) break;
        await new Promise<void>((resolve) => (this.#wake = resolve));
      }
      if (this.#pumpError !== undefined) throw this.#pumpError;
    } finally {
      this.#abort.abort();
      await pump;
    }
  }

  async #pump(): Promise<void> {
    try {
      const responses = reconnecting((callSignal) => this.#open(callSignal), this.#retry, this.#abort.signal, {
        maxReconnects: this.#options.maxReconnects,
        onReconnect: (event) => {
          this.#reconnects++;
          this.#options.onReconnect?.(event);
        },
      });
      for await (const response of responses) {
        const snapshot = this.#handle(response);
        if (snapshot === undefined) continue;
        this.#buffer.push(snapshot);
        if (this.#buffer.length > BUFFER_LIMIT) this.#buffer = conflate(this.#buffer);
        this.#wake?.();
      }
    } catch (error) {
      this.#pumpError = error;
    } finally {
      this.#pumpDone = true;
      this.#queue?.end();
      const closed = new ConnectError("stream closed", Code.Canceled);
      for (const waiter of [...this.#unsent, ...this.#pending.flatMap((p) => p.waiters)]) waiter.reject(closed);
      this.#unsent = [];
      this.#pending = [];
      this.#wake?.();
    }
  }

  #send(request: StreamMarketDataRequest): Promise<SubscriptionChange> {
    if (this.#abort.signal.aborted) return Promise.reject(new ConnectError("stream closed", Code.Canceled));
    return new Promise((resolve, reject) => {
      const waiter = { resolve, reject };
      if (this.#queue === undefined) {
        this.#unsent.push(waiter);
      } else {
        this.#pending.push({ waiters: [waiter], rejected: [] });
        this.#queue.push(request);
      }
    });
  }

  /** Opens one call whose first request subscribes to everything wanted. */
  #open(signal: AbortSignal): AsyncIterable<StreamMarketDataResponse> {
    this.#queue?.end();
    // Requests sent on the lost call may never be answered; the new
    // subscribe restates all of them, so its acknowledgement answers them.
    const carried = [...this.#unsent, ...this.#pending.flatMap((p) => p.waiters)];
    this.#unsent = [];
    this.#pending = [];
    const queue = new MessageQueue<StreamMarketDataRequest>();
    this.#queue = queue;
    signal.addEventListener("abort", () => queue.end(), { once: true });
    if (this.#wanted.size > 0) {
      // One subscribe per distinct fields and rate; the last acknowledgement
      // answers the carried requests, with every refusal of the lot.
      const groups = groupByDelivery(this.#wanted);
      const rejected: SubscriptionChange["rejected"] = [];
      groups.forEach(([delivery, ids], i) => {
        this.#pending.push({ waiters: i === groups.length - 1 ? carried : [], rejected });
        queue.push(subscribeRequest(ids, delivery));
      });
    } else {
      this.#active = [];
      for (const waiter of carried) waiter.resolve({ activeSymbolIds: [], rejected: [] });
    }
    return this.#call(queue, signal);
  }

  #handle(response: StreamMarketDataResponse): Snapshot | undefined {
    const event = response.event;
    switch (event.case) {
      case "snapshot": {
        return this.#wanted.has(event.value.symbolId) ? event.value : undefined;
      }
      case "subscription": {
        this.#active = [...event.value.activeSymbolIds];
        const pending = this.#pending.shift();
        const change = { activeSymbolIds: this.activeSymbolIds, rejected: pending?.rejected ?? [] };
        for (const waiter of pending?.waiters ?? []) waiter.resolve(change);
        return undefined;
      }
      case "symbolError": {
        const { symbolIds, reason } = event.value;
        for (const id of symbolIds) this.#wanted.delete(id);
        this.#pending[0]?.rejected.push({ symbolIds: [...symbolIds], reason });
        this.#options.onSymbolError?.([...symbolIds], reason);
        return undefined;
      }
      default:
        return undefined;
    }
  }
}

function subscribeRequest(symbolIds: number[], delivery: Delivery): StreamMarketDataRequest {
  return create(StreamMarketDataRequestSchema, { action: { case: "subscribe", value: { symbolIds, ...delivery } } });
}

/** groupByDelivery lists the wanted symbols by fields and rate, ids in ascending order. */
function groupByDelivery(wanted: ReadonlyMap<number, Delivery>): Array<[Delivery, number[]]> {
  const groups = new Map<string, [Delivery, number[]]>();
  for (const id of [...wanted.keys()].sort((a, b) => a - b)) {
    const delivery = wanted.get(id)!;
    const key = `${delivery.mode}/${delivery.maxUpdatesPerSecond}`;
    const group = groups.get(key);
    if (group === undefined) groups.set(key, [delivery, [id]]);
    else group[1].push(id);
  }
  return [...groups.values()];
}

/** conflate keeps the latest snapshot of each symbol, in the order of those latest updates. */
function conflate(buffer: Snapshot[]): Snapshot[] {
  const latest = new Map<number, Snapshot>();
  for (const snapshot of buffer) {
    latest.delete(snapshot.symbolId);
    latest.set(snapshot.symbolId, snapshot);
  }
  return [...latest.values()];
}

import type { DescMethod } from "@bufbuild/protobuf";
import { Code } from "@connectrpc/connect";
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry, type MetricType } from "prom-client";
import { CALL_PROTOCOLS, type CallProtocol } from "./call-protocol.js";

/** protocolSlot returns the index of a protocol's slot: its place in CALL_PROTOCOLS. */
export function protocolSlot(protocol: CallProtocol): number {
  return CALL_PROTOCOLS.indexOf(protocol);
}

/** DURATION_BUCKETS are the histogram's upper bounds in seconds: sub-millisecond reads to hour-long streams. */
export const DURATION_BUCKETS: readonly number[] = [
  0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 60, 300, 3600,
];

/** STATUS_NAMES are gRPC's canonical status names, indexed by code (Connect's Code enum has no OK: 0 is OK here). */
export const STATUS_NAMES: readonly string[] = [
  "OK", "CANCELLED", "UNKNOWN", "INVALID_ARGUMENT", "DEADLINE_EXCEEDED", "NOT_FOUND", "ALREADY_EXISTS",
  "PERMISSION_DENIED", "RESOURCE_EXHAUSTED", "FAILED_PRECONDITION", "ABORTED", "OUT_OF_RANGE",
  "UNIMPLEMENTED", "INTERNAL", "UNAVAILABLE", "DATA_LOSS", "UNAUTHENTICATED",
];

/**
 * CallSlot accumulates the calls of one method over one protocol in plain
 * numbers; the Prometheus metrics read them at scrape time, so recording a
 * call builds no label string and looks nothing up by name.
 */
export class CallSlot {
  readonly labels: { readonly method: string; readonly protocol: CallProtocol };
  readonly streaming: boolean;
  /** Calls per status code, OK at 0. */
  readonly codes = new Float64Array(STATUS_NAMES.length);
  /** Calls per duration bucket (not cumulative); the last one is +Inf. */
  readonly buckets = new Float64Array(DURATION_BUCKETS.length + 1);
  durationSum = 0;
  durationCount = 0;
  activeStreams = 0;
  messagesSent = 0;

  constructor(method: string, protocol: CallProtocol, streaming: boolean) {
    this.labels = { method, protocol };
    this.streaming = streaming;
  }

  /** Records one finished call. */
  finish(code: number, seconds: number): void {
    this.codes[code >= 0 && code < STATUS_NAMES.length ? code : Code.Unknown]!++;
    let bucket = 0;
    while (bucket < DURATION_BUCKETS.length && seconds > DURATION_BUCKETS[bucket]!) bucket++;
    this.buckets[bucket]!++;
    this.durationSum += seconds;
    this.durationCount++;
  }
}

/**
 * MethodSlots holds one method's slots, one per protocol in CALL_PROTOCOLS order.
 */
export interface MethodSlots {
  readonly name: string;
  readonly streamType: StreamType;
  readonly byProtocol: readonly CallSlot[];
}

/** StreamType is the kind of a method, as the messages-sent metric labels it. */
export type StreamType = "unary" | "client_streaming" | "server_streaming" | "bidi_streaming";

/**
 * GatewayMetrics is the gateway's Prometheus registry: per-call metrics for
 * every method and protocol, streaming and slow-consumer counters, and the
 * process's default metrics.
 */
export class GatewayMetrics {
  readonly registry = new Registry();
  readonly #methods = new Map<DescMethod, MethodSlots>();
  readonly #slots: CallSlot[] = [];
  readonly #conflations: Counter;
  readonly #slowConsumerCloses: Counter;
  readonly #streamEvictions: Counter;

  readonly #historyBatchTicks: Histogram;
  readonly #historyWriteSeconds: Histogram;
  readonly #historyDropped: Counter;

  constructor(
    options: {
      hubSubscriptions?: () => number;
      streamBufferedBytes?: () => number;
      /** Ticks waiting to be written to history; no gauge without it. */
      historyQueueTicks?: () => number;
      /** Whether the history store is up; no gauge without it. */
      historyStoreUp?: () => boolean;
    } = {},
  ) {
    const slots = this.#slots;
    this.registry.registerMetric(new SlotHistogram(slots));
    new Counter({
      name: "grpc_requests_total",
      help: "Calls finished, by method, gRPC status and wire protocol.",
      labelNames: ["method", "status", "protocol"],
      registers: [this.registry],
      collect() {
        this.reset();
        for (const slot of slots) {
          for (let code = 0; code < slot.codes.length; code++) {
            // OK always shows, so that rates of a quiet method read 0 rather than nothing.
            if (code === 0 || slot.codes[code]! > 0) this.inc({ ...slot.labels, status: STATUS_NAMES[code]! }, slot.codes[code]!);
          }
        }
      },
    });
    new Gauge({
      name: "grpc_active_streams",
      help: "Streaming calls in progress, by method and wire protocol.",
      labelNames: ["method", "protocol"],
      registers: [this.registry],
      collect() {
        this.reset();
        for (const slot of slots) if (slot.streaming) this.set(slot.labels, slot.activeStreams);
      },
    });
    const methods = this.#methods;
    new Counter({
      name: "grpc_stream_messages_sent_total",
      help: "Messages sent on response streams, by method and stream type.",
      labelNames: ["method", "stream_type"],
      registers: [this.registry],
      collect() {
        this.reset();
        for (const method of methods.values()) {
          if (method.streamType !== "server_streaming" && method.streamType !== "bidi_streaming") continue;
          let sent = 0;
          for (const slot of method.byProtocol) sent += slot.messagesSent;
          this.inc({ method: method.name, stream_type: method.streamType }, sent);
        }
      },
    });
    this.#conflations = new Counter({
      name: "stockify_stream_conflations_total",
      help: "Updates a slow stream skipped because a newer one of the same symbol replaced them.",
      registers: [this.registry],
    });
    this.#slowConsumerCloses = new Counter({
      name: "stockify_slow_consumer_closes_total",
      help: "Streams ended with RESOURCE_EXHAUSTED because their reader fell too far behind.",
      registers: [this.registry],
    });
    this.#streamEvictions = new Counter({
      name: "stockify_stream_budget_evictions_total",
      help: "Streams ended with RESOURCE_EXHAUSTED because streams whose clients do not read held more than STREAM_BUFFER_BUDGET_MB.",
      registers: [this.registry],
    });
    const streamBufferedBytes = options.streamBufferedBytes;
    if (streamBufferedBytes !== undefined) {
      new Gauge({
        name: "stockify_stream_buffered_bytes",
        help: "Bytes held in the write buffers of streams whose clients do not read.",
        registers: [this.registry],
        collect() {
          this.set(streamBufferedBytes());
        },
      });
    }
    this.#historyBatchTicks = new Histogram({
      name: "stockify_history_batch_ticks",
      help: "Ticks in each batch written to the history store.",
      buckets: [1, 10, 100, 500, 1000, 5000, 10_000, 50_000],
      registers: [this.registry],
    });
    this.#historyWriteSeconds = new Histogram({
      name: "stockify_history_write_seconds",
      help: "Time to write one batch to the history store, until it committed.",
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
      registers: [this.registry],
    });
    this.#historyDropped = new Counter({
      name: "stockify_history_ticks_dropped_total",
      help: "Ticks never written to history: refused by a full queue under HISTORY_QUEUE_POLICY=drop, or still queued at shutdown.",
      registers: [this.registry],
    });
    const historyQueueTicks = options.historyQueueTicks;
    if (historyQueueTicks !== undefined) {
      new Gauge({
        name: "stockify_history_queue_ticks",
        help: "Ticks waiting to be written to the history store.",
        registers: [this.registry],
        collect() {
          this.set(historyQueueTicks());
        },
      });
    }
    const historyStoreUp = options.historyStoreUp;
    if (historyStoreUp !== undefined) {
      new Gauge({
        name: "stockify_history_store_up",
        help: "1 while the history store can take writes and answer queries, 0 while it is down.",
        registers: [this.registry],
        collect() {
          this.set(historyStoreUp() ? 1 : 0);
        },
      });
    }
    const hubSubscriptions = options.hubSubscriptions;
    if (hubSubscriptions !== undefined) {
      new Gauge({
        name: "stockify_hub_subscriptions",
        help: "Symbol subscriptions held by open streams (one stream on ten symbols counts ten).",
        registers: [this.registry],
        collect() {
          this.set(hubSubscriptions());
        },
      });
    }
  }

  /** Creates the slots of these methods ahead of their first call, so that their series exist from the start. */
  addMethods(methods: Iterable<DescMethod>): void {
    for (const method of methods) this.slotsOf(method);
  }

  /** Returns the slots of one method, creating them on its first call. */
  slotsOf(method: DescMethod): MethodSlots {
    let slots = this.#methods.get(method);
    if (slots === undefined) {
      const name = `${method.parent.typeName}/${method.name}`;
      const streaming = method.methodKind === "server_streaming" || method.methodKind === "bidi_streaming";
      const byProtocol = CALL_PROTOCOLS.map((protocol) => new CallSlot(name, protocol, streaming));
      slots = { name, streamType: method.methodKind === "unary" ? "unary" : method.methodKind, byProtocol };
      this.#methods.set(method, slots);
      this.#slots.push(...byProtocol);
    }
    return slots;
  }

  /** Counts updates skipped by conflation. */
  conflated(skipped = 1): void {
    this.#conflations.inc(skipped);
  }

  /** Counts one stream closed by the slow-consumer policy. */
  slowConsumerClosed(): void {
    this.#slowConsumerCloses.inc();
  }

  /** Records one batch written to history: its size and how long it took. */
  historyBatch(size: number, ms: number): void {
    this.#historyBatchTicks.observe(size);
    this.#historyWriteSeconds.observe(ms / 1000);
  }

  /** Counts ticks that history will never hold. */
  historyDropped(count: number): void {
    this.#historyDropped.inc(count);
  }

  /** Counts one stuck stream ended because stuck streams together held more than their budget. */
  streamEvicted(): void {
    this.#streamEvictions.inc();
  }

  /** Renders every metric, the process's included, in Prometheus text format. */
  async render(): Promise<string> {
    return `${await processRegistry().metrics()}\n${await this.registry.metrics()}`;
  }

  /** The content type of render()'s output. */
  get contentType(): string {
    return this.registry.contentType;
  }
}

let sharedProcessRegistry: Registry | undefined;

// Process metrics describe the process, not one gateway: every gateway in a
// process (tests build many) shares one collector instead of starting its own.
function processRegistry(): Registry {
  if (sharedProcessRegistry === undefined) {
    sharedProcessRegistry = new Registry();
    collectDefaultMetrics({ register: sharedProcessRegistry });
  }
  return sharedProcessRegistry;
}

type HistogramData = Awaited<ReturnType<Histogram["get"]>>;

const DURATION_NAME = "grpc_request_duration_seconds";
const DURATION_HELP = "Call duration in seconds, from the request to the last response message, by method and wire protocol.";

/**
 * SlotHistogram is grpc_request_duration_seconds, rendered from the call
 * slots' bucket counts instead of from prom-client's own label hashing.
 */
class SlotHistogram extends Histogram<"method" | "protocol"> {
  readonly #slots: readonly CallSlot[];

  constructor(slots: readonly CallSlot[]) {
    super({
      name: DURATION_NAME,
      help: DURATION_HELP,
      labelNames: ["method", "protocol"],
      buckets: [...DURATION_BUCKETS],
      registers: [],
    });
    this.#slots = slots;
  }

  // The registry renders through getForPromString when a metric has it.
  override async get(): Promise<HistogramData> {
    return this.getForPromString();
  }

  async getForPromString(): Promise<HistogramData> {
    const bucketName = `${DURATION_NAME}_bucket`;
    const values: HistogramData["values"] = [];
    for (const slot of this.#slots) {
      let cumulative = 0;
      for (let i = 0; i < DURATION_BUCKETS.length; i++) {
        cumulative += slot.buckets[i]!;
        values.push({ metricName: bucketName, labels: { ...slot.labels, le: DURATION_BUCKETS[i]! }, value: cumulative });
      }
      values.push({ metricName: bucketName, labels: { ...slot.labels, le: "+Inf" }, value: slot.durationCount });
      values.push({ metricName: `${DURATION_NAME}_sum`, labels: slot.labels, value: slot.durationSum });
      values.push({ metricName: `${DURATION_NAME}_count`, labels: slot.labels, value: slot.durationCount });
    }
    return { name: DURATION_NAME, help: DURATION_HELP, type: "histogram" as unknown as MetricType, values, aggregator: "sum", collect: () => undefined };
  }
}

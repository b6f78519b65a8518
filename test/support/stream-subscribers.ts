import { create, type MessageInitShape } from "@bufbuild/protobuf";
import { createClient } from "@connectrpc/connect";
import {
  MarketDataService,
  StreamMarketDataRequestSchema,
  type StreamMarketDataRequest,
} from "../../src/gen/stockify/v1/market_data_service_pb.js";
import { SnapshotMode, type Snapshot } from "../../src/gen/stockify/v1/snapshot_pb.js";
import { TRANSPORTS, type TransportCase } from "./transports.js";

/**
 * SubscribeOptions are what a client asks one subscription for: the
 * fields of SubscribeSnapshotsRequest and of the bidi Subscribe message.
 */
export interface SubscribeOptions {
  symbolIds: number[];
  /** Default SNAPSHOT_MODE_UNSPECIFIED (a quote). */
  mode?: SnapshotMode;
  /** Default 0 (every update). */
  maxUpdatesPerSecond?: number;
}

/**
 * ReceivedSnapshot is one snapshot as a client got it, with the fields
 * every check needs read the same way whatever the wire.
 */
export interface ReceivedSnapshot {
  symbolId: number;
  sequence: number;
  ltp: number;
  /** The decoded message for RPC clients, the parsed JSON object for REST. */
  body: Snapshot | Record<string, unknown>;
}

/**
 * Subscriber is one open stream of snapshots, read as fast as they arrive.
 */
export interface Subscriber {
  readonly snapshots: ReceivedSnapshot[];
  /** The error the stream ended with, unless the test closed it. */
  readonly error: unknown;
  readonly ended: boolean;
  /** Hangs up and waits until the reading stopped. */
  close(): Promise<void>;
}

/**
 * SubscriberCase is one way a client receives snapshots: a protocol, an
 * HTTP version and an RPC.
 */
export interface SubscriberCase {
  name: string;
  /** "message" when the client decodes protobuf messages, "json" for REST's JSON as written. */
  wire: "message" | "json";
  /** True for StreamMarketData, where several subscriptions share one stream. */
  bidi: boolean;
  /** Opens a stream; a server-streaming case takes exactly one subscription. */
  open(baseUrl: string, subscriptions: SubscribeOptions[]): Subscriber;
}

/** SubscribeSnapshots over a connect-node transport. */
export function serverStreamCase(transport: TransportCase): SubscriberCase {
  return {
    name: `SubscribeSnapshots over ${transport.name}`,
    wire: "message",
    bidi: false,
    open(baseUrl, subscriptions) {
      const [request] = single(subscriptions);
      const client = createClient(MarketDataService, transport.create(baseUrl));
      return readMessages((signal) => client.subscribeSnapshots(request, { signal }), undefined);
    },
  };
}

/** StreamMarketData over a full-duplex connect-node transport, one Subscribe message per subscription. */
export function bidiCase(transport: TransportCase): SubscriberCase {
  return {
    name: `StreamMarketData over ${transport.name}`,
    wire: "message",
    bidi: true,
    open(baseUrl, subscriptions) {
      const client = createClient(MarketDataService, transport.create(baseUrl));
      const requests = requestQueue();
      for (const subscription of subscriptions) requests.push({ case: "subscribe", value: subscription });
      return readMessages((signal) => client.streamMarketData(requests, { signal }), () => requests.end());
    },
  };
}

/** The REST route of SubscribeSnapshots read with fetch, as Server-Sent Events or NDJSON. */
export function restCase(format: "sse" | "ndjson"): SubscriberCase {
  return {
    name: format === "sse" ? "Server-Sent Events over HTTP/1.1" : "NDJSON over HTTP/1.1",
    wire: "json",
    bidi: false,
    open(baseUrl, subscriptions) {
      const [request] = single(subscriptions);
      const abort = new AbortController();
      const state = { snapshots: [] as ReceivedSnapshot[], error: undefined as unknown, ended: false };
      const accept = format === "sse" ? "text/event-stream" : "application/x-ndjson";
      const reading = (async () => {
        try {
          const response = await fetch(`${baseUrl}${restStreamPath(request)}`, { headers: { accept }, signal: abort.signal });
          if (response.status !== 200) throw new Error(`HTTP ${response.status}: ${await response.text()}`);
          const parse = format === "sse" ? sseEvents() : ndjsonLines();
          for await (const text of response.body!.pipeThrough(new TextDecoderStream())) {
            for (const event of parse(text)) {
              if (event.error !== undefined) state.error = event.error;
              else if (event.snapshot !== undefined) state.snapshots.push(receivedJson(event.snapshot));
            }
          }
        } catch (error) {
          if (!abort.signal.aborted) state.error = error;
        }
        state.ended = true;
      })();
      return subscriber(state, async () => {
        abort.abort();
        await reading;
      });
    },
  };
}

/**
 * restStreamPath is the REST route of SubscribeSnapshots for a request:
 * its fields as query parameters, the mode by its enum name.
 */
export function restStreamPath(request: SubscribeOptions): string {
  const query = new URLSearchParams();
  for (const id of request.symbolIds) query.append("symbol_ids", String(id));
  if (request.mode !== undefined) query.set("mode", `SNAPSHOT_MODE_${SnapshotMode[request.mode]}`);
  if (request.maxUpdatesPerSecond !== undefined) query.set("max_updates_per_second", String(request.maxUpdatesPerSecond));
  return `/v1/snapshots:stream?${query}`;
}

/** SUBSCRIBER_CASES on the default gateway: every transport, REST's two formats, and bidi where the transport is full duplex. */
export const SUBSCRIBER_CASES: SubscriberCase[] = [
  ...TRANSPORTS.map(serverStreamCase),
  restCase("sse"),
  restCase("ndjson"),
  ...TRANSPORTS.filter((t) => t.fullDuplex).map(bidiCase),
];

/** The gRPC cases, for a gateway with the lean gRPC lane off. */
export const GRPC_SUBSCRIBER_CASES: SubscriberCase[] = TRANSPORTS.filter((t) => t.name.startsWith("gRPC over")).flatMap(
  (transport) => [serverStreamCase(transport), bidiCase(transport)],
);

function single(subscriptions: SubscribeOptions[]): [SubscribeOptions] {
  if (subscriptions.length !== 1) throw new Error("a server-streaming call takes one subscription");
  return [subscriptions[0]!];
}

interface SnapshotEvent {
  readonly event: { case: string | undefined; value?: unknown };
}

function readMessages(call: (signal: AbortSignal) => AsyncIterable<SnapshotEvent>, endRequests: (() => void) | undefined): Subscriber {
  const abort = new AbortController();
  const state = { snapshots: [] as ReceivedSnapshot[], error: undefined as unknown, ended: false };
  const reading = (async () => {
    try {
      for await (const response of call(abort.signal)) {
        if (response.event.case !== "snapshot") continue;
        const snapshot = response.event.value as Snapshot;
        state.snapshots.push({ symbolId: snapshot.symbolId, sequence: Number(snapshot.sequence), ltp: snapshot.ltp, body: snapshot });
      }
    } catch (error) {
      if (!abort.signal.aborted) state.error = error;
    }
    state.ended = true;
  })();
  return subscriber(state, async () => {
    abort.abort();
    endRequests?.();
    await reading;
  });
}

function subscriber(state: { snapshots: ReceivedSnapshot[]; error: unknown; ended: boolean }, close: () => Promise<void>): Subscriber {
  return {
    get snapshots() {
      return state.snapshots;
    },
    get error() {
      return state.error;
    },
    get ended() {
      return state.ended;
    },
    close,
  };
}

function requestQueue() {
  const items: StreamMarketDataRequest[] = [];
  let wake: (() => void) | undefined;
  let ended = false;
  return {
    push(action: MessageInitShape<typeof StreamMarketDataRequestSchema>["action"]) {
      items.push(create(StreamMarketDataRequestSchema, { action }));
      wake?.();
    },
    end() {
      ended = true;
      wake?.();
    },
    async *[Symbol.asyncIterator]() {
      for (;;) {
        while (items.length > 0) yield items.shift()!;
        if (ended) return;
        await new Promise<void>((resolve) => (wake = resolve));
      }
    },
  };
}

interface JsonEvent {
  snapshot?: Record<string, unknown>;
  error?: unknown;
}

function receivedJson(snapshot: Record<string, unknown>): ReceivedSnapshot {
  return { symbolId: snapshot.symbolId as number, sequence: Number(snapshot.sequence), ltp: snapshot.ltp as number, body: snapshot };
}

// Text arrives in arbitrary pieces: each parser keeps what is not yet a whole event.
function sseEvents(): (text: string) => JsonEvent[] {
  let buffered = "";
  return (text) => {
    buffered += text;
    const events: JsonEvent[] = [];
    let end: number;
    while ((end = buffered.indexOf("\n\n")) !== -1) {
      const lines = buffered.slice(0, end).split("\n");
      buffered = buffered.slice(end + 2);
      const data = lines.find((line) => line.startsWith("data: "))?.slice(6);
      if (data === undefined) continue;
      const parsed = JSON.parse(data) as { snapshot?: Record<string, unknown> };
      events.push(lines.includes("event: error") ? { error: parsed } : { snapshot: parsed.snapshot });
    }
    return events;
  };
}

function ndjsonLines(): (text: string) => JsonEvent[] {
  let buffered = "";
  return (text) => {
    buffered += text;
    const events: JsonEvent[] = [];
    let end: number;
    while ((end = buffered.indexOf("\n")) !== -1) {
      const line = JSON.parse(buffered.slice(0, end)) as { result?: { snapshot?: Record<string, unknown> }; error?: unknown };
      buffered = buffered.slice(end + 1);
      events.push(line.error !== undefined ? { error: line.error } : { snapshot: line.result?.snapshot });
    }
    return events;
  };
}

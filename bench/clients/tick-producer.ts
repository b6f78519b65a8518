// The external producer of the fan-out scenario: a process of its own that
// calls MarketFeedService.PublishTicks over gRPC on a fixed schedule, every
// interval with the same number of ticks, round-robin over the symbols and
// stamped with exchange_time = now, the way a feed handler forwards an
// exchange's ticks. It keeps its pace whatever the server does (up to a
// bound on calls in flight), so a slow server shows as slow calls, not as
// a slower feed.
//
// Calls go out on raw node:http2 with protobuf-es encoding: on two shared
// cores, connect-node's client would take about twice the CPU per call
// from the server it measures.
import * as http2 from "node:http2";
import { setTimeout as sleep } from "node:timers/promises";
import { create, toBinary, type MessageInitShape } from "@bufbuild/protobuf";
import { MarketFeedService, PublishTicksRequestSchema } from "../../src/gen/stockify/v1/market_feed_service_pb.js";
import type { TickSchema } from "../../src/gen/stockify/v1/snapshot_pb.js";
import { initMessage, serveParent } from "../lib/child.js";
import { grpcFrame } from "../lib/grpc-frame.js";
import { createLatencyHistogram, encodeHistogram } from "../lib/latency-histogram.js";
import { wallClockMicros } from "../lib/wall-clock.js";

/**
 * TickProducerInit sets the producer's feed.
 */
export interface TickProducerInit {
  port: number;
  symbolIds: number[];
  /** Ticks in each PublishTicks call. */
  ticksPerCall: number;
  /** Milliseconds between the starts of two calls. */
  intervalMs: number;
  /** Calls allowed in flight before the schedule waits for one to answer. */
  maxInFlight: number;
}

const init = await initMessage<TickProducerInit>();
let lastError: string | undefined;
const session = http2.connect(`http://127.0.0.1:${init.port}`);
session.on("error", (error) => (lastError = String(error)));
const headers = {
  ":method": "POST",
  ":path": `/${MarketFeedService.typeName}/${MarketFeedService.method.publishTicks.name}`,
  "content-type": "application/grpc",
  te: "trailers",
};

let feeding: Promise<void> | undefined;
let running = false;
let counting = false;
let started = 0;
let histogram = createLatencyHistogram();
const tally = { sentCalls: 0, sentTicks: 0, answeredCalls: 0, failedCalls: 0, waitedForInFlight: 0 };
let nextSymbol = 0;
let price = 1000;

function ticks(): Array<MessageInitShape<typeof TickSchema>> {
  const micros = wallClockMicros();
  const exchangeTime = { seconds: BigInt(Math.floor(micros / 1_000_000)), nanos: (micros % 1_000_000) * 1000 };
  const batch: Array<MessageInitShape<typeof TickSchema>> = [];
  for (let i = 0; i < init.ticksPerCall; i++) {
    price = price >= 2000 ? 1000 : price + 0.05;
    const symbolId = init.symbolIds[nextSymbol]!;
    nextSymbol = (nextSymbol + 1) % init.symbolIds.length;
    batch.push({ symbolId, ltp: Math.round(price * 100) / 100, volume: 1n, exchangeTime });
  }
  return batch;
}

async function feed(): Promise<void> {
  const inFlight = new Set<Promise<void>>();
  const origin = performance.now();
  for (let call = 0; running; call++) {
    const due = origin + call * init.intervalMs;
    const wait = due - performance.now();
    if (wait > 0) await sleep(wait);
    if (!running) break;
    if (inFlight.size >= init.maxInFlight) {
      if (counting) tally.waitedForInFlight++;
      await Promise.race(inFlight);
    }
    const request = grpcFrame(toBinary(PublishTicksRequestSchema, create(PublishTicksRequestSchema, { ticks: ticks() })));
    const measured = counting;
    if (measured) {
      tally.sentCalls++;
      tally.sentTicks += init.ticksPerCall;
    }
    const sent = performance.now();
    const done = publish(request).then(
      () => {
        if (!measured || !counting) return;
        histogram.recordValue(Math.max(0, Math.round((performance.now() - sent) * 1000)));
        tally.answeredCalls++;
      },
      (error: unknown) => {
        lastError = String(error);
        if (counting) tally.failedCalls++;
      },
    );
    const tracked = done.finally(() => inFlight.delete(tracked));
    inFlight.add(tracked);
  }
  await Promise.allSettled(inFlight);
}

// Resolves when the call ends with grpc-status 0 (in the trailers, or in the
// headers of a trailers-only answer), rejects otherwise.
function publish(request: Buffer): Promise<void> {
  return new Promise((resolve, reject) => {
    const stream = session.request(headers);
    let status: string | undefined;
    let message: string | undefined;
    const note = (fields: http2.IncomingHttpHeaders) => {
      if (fields["grpc-status"] !== undefined) {
        status = String(fields["grpc-status"]);
        message = fields["grpc-message"] === undefined ? undefined : String(fields["grpc-message"]);
      }
    };
    stream.on("response", note);
    stream.on("trailers", note);
    stream.on("data", () => undefined);
    stream.on("error", reject);
    stream.on("close", () => (status === "0" ? resolve() : reject(new Error(`PublishTicks ended with grpc-status ${status}: ${message}`))));
    stream.end(request);
  });
}

serveParent({}, {
  begin: () => {
    running = true;
    feeding = feed();
    return {};
  },
  start: () => {
    histogram = createLatencyHistogram();
    for (const key of Object.keys(tally) as Array<keyof typeof tally>) tally[key] = 0;
    started = performance.now();
    counting = true;
    return {};
  },
  stop: () => {
    counting = false;
    return { ...tally, elapsedMs: performance.now() - started, histogram: encodeHistogram(histogram), lastError };
  },
  end: async () => {
    running = false;
    await feeding;
    session.close();
    return {};
  },
});

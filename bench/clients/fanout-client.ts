// SubscribeSnapshots subscribers of the external-feed scenario: raw
// node:http2 streams, each for the same symbols. Every message is counted,
// checked for a sequence jump (an update the server conflated away) and its
// latency, receive time minus exchange_time, goes into an HDR histogram;
// only the three fields that takes are read off the wire, so the client
// stays cheap next to the server it measures.
import * as http2 from "node:http2";
import { create, toBinary } from "@bufbuild/protobuf";
import { MarketDataService, SubscribeSnapshotsRequestSchema } from "../../src/gen/stockify/v1/market_data_service_pb.js";
import { initMessage, serveParent } from "../lib/child.js";
import { GrpcMessageReader, grpcFrame } from "../lib/grpc-frame.js";
import { createLatencyHistogram, encodeHistogram } from "../lib/latency-histogram.js";
import { SnapshotScanner } from "../lib/snapshot-scan.js";
import { wallClockMicros } from "../lib/wall-clock.js";

/**
 * FanoutClientInit tells a subscriber process what to open.
 */
export interface FanoutClientInit {
  port: number;
  /** Streams that read, all of them counted. */
  streams: number;
  /** Streams multiplexed on one HTTP/2 connection. */
  streamsPerSession: number;
  /** The symbols every stream subscribes to. */
  symbolIds: number[];
  /** Streams that never read, each on a connection of its own with a small window. */
  stalledStreams: number;
}

// Windows large enough that a client reading as fast as it can is never
// held back by flow control: the figures are to be the server's.
const SESSION_WINDOW_BYTES = 16 * 1024 * 1024;
const STREAM_WINDOW_BYTES = 1024 * 1024;
// A stalled stream takes a few messages and then blocks its server stream,
// as a phone on a dead network would.
const STALLED_WINDOW_BYTES = 4096;

const init = await initMessage<FanoutClientInit>();
const path = `/${MarketDataService.typeName}/${MarketDataService.method.subscribeSnapshots.name}`;
const headers = { ":method": "POST", ":path": path, "content-type": "application/grpc", te: "trailers" };
const request = grpcFrame(toBinary(SubscribeSnapshotsRequestSchema, create(SubscribeSnapshotsRequestSchema, { symbolIds: init.symbolIds })));
const symbolIndex = new Map(init.symbolIds.map((id, i) => [id, i]));
const scanner = new SnapshotScanner();
const sessions: http2.ClientHttp2Session[] = [];
const stalled: http2.ClientHttp2Stream[] = [];

let counting = false;
let started = 0;
let histogram = createLatencyHistogram();
const tally = { messages: 0, sequenceJumps: 0, skippedUpdates: 0, outOfOrder: 0, heartbeats: 0, clockSkewed: 0 };
let endedStreams = 0;
let lastError: string | undefined;
let closing = false;

function resetTally(): void {
  histogram = createLatencyHistogram();
  for (const key of Object.keys(tally) as Array<keyof typeof tally>) tally[key] = 0;
}

function openSession(settings: http2.Settings): http2.ClientHttp2Session {
  const session = http2.connect(`http://127.0.0.1:${init.port}`, { settings });
  session.on("error", (error) => (lastError = String(error)));
  sessions.push(session);
  return session;
}

function openStream(session: http2.ClientHttp2Session, index: number): Promise<void> {
  const stream = session.request(headers);
  stream.end(request);
  const reader = new GrpcMessageReader();
  const lastSequence = new Float64Array(init.symbolIds.length);
  let initial = init.symbolIds.length;
  let receivedMicros = 0;
  const onMessage = (buffer: Buffer, start: number, end: number) => {
    if (!scanner.scan(buffer, start, end)) {
      if (counting) tally.heartbeats++;
      return;
    }
    const i = symbolIndex.get(scanner.symbolId);
    if (i === undefined) return;
    const sequence = scanner.sequence;
    const last = lastSequence[i]!;
    lastSequence[i] = sequence;
    if (!counting) return;
    tally.messages++;
    if (last > 0 && sequence > last + 1) {
      tally.sequenceJumps++;
      tally.skippedUpdates += sequence - last - 1;
    } else if (sequence <= last) {
      tally.outOfOrder++;
    }
    let latency = receivedMicros - scanner.exchangeMicros;
    // Two processes' readings of one clock can differ by a microsecond or so.
    if (latency < 0) {
      tally.clockSkewed++;
      latency = 0;
    }
    histogram.recordValue(latency);
  };
  return new Promise((resolve, reject) => {
    // Ready once the current snapshot of each symbol is in: those are the
    // subscription's start, not updates.
    let ready = false;
    stream.on("data", (chunk: Buffer) => {
      // One reading per chunk: every message in it arrived at once.
      receivedMicros = wallClockMicros();
      const count = reader.push(chunk, onMessage);
      if (!ready && (initial -= count) <= 0) {
        ready = true;
        resolve();
      }
    });
    stream.on("error", (error) => {
      lastError = String(error);
      if (!ready) reject(new Error(`stream ${index} failed before its first snapshots: ${String(error)}`));
    });
    stream.on("close", () => {
      if (!closing) endedStreams++;
      if (!ready) reject(new Error(`stream ${index} closed before its first snapshots`));
    });
  });
}

function openStalledStream(): Promise<void> {
  const session = openSession({ initialWindowSize: STALLED_WINDOW_BYTES });
  const stream = session.request(headers);
  stream.end(request);
  // Paused and without a data listener: nothing is read, so the window is
  // never opened again.
  stream.pause();
  stalled.push(stream);
  stream.on("error", (error) => (lastError = String(error)));
  stream.on("close", () => {
    if (!closing) endedStreams++;
  });
  return new Promise((resolve, reject) => {
    stream.once("response", () => resolve());
    stream.once("close", () => reject(new Error("a stalled stream closed before its response headers")));
  });
}

// Connections open one after another, each once the previous one's streams
// are ready: a burst of a thousand subscriptions would measure the burst.
for (let first = 0; first < init.streams; first += init.streamsPerSession) {
  const session = openSession({ initialWindowSize: STREAM_WINDOW_BYTES });
  session.once("connect", () => session.setLocalWindowSize(SESSION_WINDOW_BYTES));
  const count = Math.min(init.streamsPerSession, init.streams - first);
  await Promise.all(Array.from({ length: count }, (_, k) => openStream(session, first + k)));
}
for (let i = 0; i < init.stalledStreams; i++) await openStalledStream();

serveParent({ streams: init.streams, stalledStreams: init.stalledStreams }, {
  start: () => {
    resetTally();
    started = performance.now();
    counting = true;
    return {};
  },
  stop: () => {
    counting = false;
    return {
      ...tally,
      elapsedMs: performance.now() - started,
      histogram: encodeHistogram(histogram),
      endedStreams,
      lastError,
      // What the stalled streams hold unread: about their window, when flow control holds.
      stalledBytesBuffered: stalled.reduce((sum, s) => sum + s.readableLength, 0),
    };
  },
  close: () => {
    closing = true;
    // The streams never end on their own: cancel them with the connection.
    for (const session of sessions) session.destroy();
    return {};
  },
});

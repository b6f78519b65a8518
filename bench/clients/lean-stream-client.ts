// A lean SubscribeSnapshots client: raw node:http2 streams with a
// pre-encoded request, counting messages by their gRPC length prefixes and
// decoding only every Nth one (for its publish stamp), so the client costs
// as little as possible and the figures are the server's.
import * as http2 from "node:http2";
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import {
  MarketDataService,
  SubscribeSnapshotsRequestSchema,
  SubscribeSnapshotsResponseSchema,
} from "../../src/gen/stockify/v1/market_data_service_pb.js";
import { initMessage, serveParent } from "../lib/child.js";
import { GrpcMessageReader, grpcFrame } from "../lib/grpc-frame.js";
import type { StreamClientInit } from "./stream-client-init.js";
import { StreamTally } from "./stream-tally.js";

const init = await initMessage<StreamClientInit>();
const tally = new StreamTally();
const sessions: http2.ClientHttp2Session[] = [];
const path = `/${MarketDataService.typeName}/${MarketDataService.method.subscribeSnapshots.name}`;
const headers = { ":method": "POST", ":path": path, "content-type": "application/grpc", te: "trailers" };
let opened = 0;
let sinceSample = 0;
let closing = false;

const onMessage = (buffer: Buffer, start: number, end: number) => {
  if (!tally.counting || ++sinceSample < init.sampleEvery) return;
  sinceSample = 0;
  const response = fromBinary(SubscribeSnapshotsResponseSchema, buffer.subarray(start, end));
  if (response.event.case === "snapshot") tally.sample(Number(response.event.value.bidSize));
};

// Connections open one after another, each once the previous one's streams
// are ready: a burst of thousands of subscriptions at once would measure
// the burst, not the idle streams.
for (let first = 0; first < init.streams; first += init.streamsPerSession) {
  const session = http2.connect(`http://127.0.0.1:${init.port}`);
  session.on("error", (error) => (tally.lastError = String(error)));
  sessions.push(session);
  const count = Math.min(init.streamsPerSession, init.streams - first);
  await Promise.all(Array.from({ length: count }, (_, k) => openStream(session, first + k)));
}

function openStream(session: http2.ClientHttp2Session, index: number): Promise<void> {
  // Streams spread their interest over the symbols when each takes fewer.
  const symbolIds = init.symbolsPerStream >= init.symbolIds.length
    ? init.symbolIds
    : Array.from({ length: init.symbolsPerStream }, (_, k) => init.symbolIds[(index * init.symbolsPerStream + k) % init.symbolIds.length]!);
  const stream = session.request(headers);
  stream.end(grpcFrame(toBinary(SubscribeSnapshotsRequestSchema, create(SubscribeSnapshotsRequestSchema, { symbolIds }))));
  opened++;
  const reader = new GrpcMessageReader();
  return new Promise((resolve, reject) => {
    // A stream is ready once it has the current snapshot of each of its
    // symbols: those must not be counted as updates.
    let initial = symbolIds.length;
    let ready = false;
    stream.on("data", (chunk: Buffer) => {
      const count = reader.push(chunk, onMessage);
      if (tally.counting) tally.messages += count;
      if (!ready && (initial -= count) <= 0) {
        ready = true;
        resolve();
      }
    });
    stream.on("error", (error) => {
      tally.lastError = String(error);
      if (!ready) reject(new Error(`stream ${index} failed before its first snapshots: ${String(error)}`));
    });
    stream.on("close", () => {
      if (!closing) tally.endedStreams++;
      if (!ready) reject(new Error(`stream ${index} closed before its first snapshots`));
    });
  });
}

serveParent({ streams: opened }, {
  start: () => {
    tally.start();
    return {};
  },
  stop: () => tally.stop(),
  close: async () => {
    closing = true;
    // The streams never end on their own: cancel them with the connection.
    for (const session of sessions) session.destroy();
    return {};
  },
});

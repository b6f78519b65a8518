// Streams that go away abruptly: SSE requests on raw HTTP/1.1 sockets and
// SubscribeSnapshots on raw HTTP/2 sessions, opened on "open" and destroyed
// (socket.destroy, session.destroy: no END_STREAM, no RST_STREAM of the
// client's choosing) on "reset". A runner may SIGKILL the process instead.
import * as http2 from "node:http2";
import { connect, type Socket } from "node:net";
import { create, toBinary } from "@bufbuild/protobuf";
import { MarketDataService, SubscribeSnapshotsRequestSchema } from "../../src/gen/stockify/v1/market_data_service_pb.js";
import { initMessage, serveParent } from "../lib/child.js";
import { grpcFrame } from "../lib/grpc-frame.js";

/** ResetClientInit tells a reset client where the gateway is and how many streams of each kind to hold. */
export interface ResetClientInit {
  port: number;
  streams: number;
  symbolId: number;
}

const init = await initMessage<ResetClientInit>();
const sockets: Socket[] = [];
const sessions: http2.ClientHttp2Session[] = [];
const path = `/${MarketDataService.typeName}/${MarketDataService.method.subscribeSnapshots.name}`;
const request = grpcFrame(toBinary(SubscribeSnapshotsRequestSchema, create(SubscribeSnapshotsRequestSchema, { symbolIds: [init.symbolId] })));

function openSse(): Promise<void> {
  return new Promise((resolve, reject) => {
    const socket = connect(init.port, "127.0.0.1", () => {
      socket.write(`GET /v1/snapshots:stream?symbol_ids=${init.symbolId} HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: text/event-stream\r\n\r\n`);
    });
    socket.once("data", () => resolve());
    socket.on("error", reject);
    sockets.push(socket);
  });
}

function openGrpc(): Promise<void> {
  return new Promise((resolve, reject) => {
    const session = http2.connect(`http://127.0.0.1:${init.port}`);
    session.on("error", () => {});
    const stream = session.request({ ":method": "POST", ":path": path, "content-type": "application/grpc", te: "trailers" });
    stream.once("response", () => resolve());
    stream.on("error", reject);
    stream.resume();
    stream.end(request);
    sessions.push(session);
  });
}

serveParent({}, {
  async open() {
    for (let i = 0; i < init.streams; i += 50) {
      const batch = Math.min(50, init.streams - i);
      await Promise.all(Array.from({ length: batch }, () => Promise.all([openSse(), openGrpc()])));
    }
    return { sse: sockets.length, grpc: sessions.length };
  },
  reset() {
    for (const socket of sockets) socket.destroy();
    for (const session of sessions) session.destroy();
    return {};
  },
});

import * as http2 from "node:http2";
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import {
  SubscribeSnapshotsRequestSchema,
  SubscribeSnapshotsResponseSchema,
} from "../../src/gen/stockify/v1/market_data_service_pb.js";
import type { Snapshot } from "../../src/gen/stockify/v1/snapshot_pb.js";

/**
 * A gRPC client on raw HTTP/2 that subscribes and then reads nothing until
 * told to: its small flow-control window fills and the server must stop
 * writing to it.
 */
export function stalledSubscriber(baseUrl: string, symbolIds: number[]) {
  const session = http2.connect(baseUrl, { settings: { initialWindowSize: 4096 } });
  const stream = session.request({
    ":method": "POST",
    ":path": "/stockify.v1.MarketDataService/SubscribeSnapshots",
    "content-type": "application/grpc",
    te: "trailers",
  });
  const message = toBinary(SubscribeSnapshotsRequestSchema, create(SubscribeSnapshotsRequestSchema, { symbolIds }));
  const frame = Buffer.alloc(5 + message.length);
  frame.writeUInt32BE(message.length, 1);
  frame.set(message, 5);
  stream.end(frame);
  // No 'data' listener: the stream stays paused and stops granting window.
  const snapshots: Snapshot[] = [];
  let status: string | undefined;
  let pendingBytes = Buffer.alloc(0);
  const ended = new Promise<void>((resolve) => stream.once("close", resolve));
  stream.once("trailers", (headers) => (status = headers["grpc-status"] as string | undefined));
  return {
    snapshots,
    get status() {
      return status;
    },
    /** Starts reading whatever the server sent and sends from now on. */
    resume() {
      stream.on("data", (chunk: Buffer) => {
        pendingBytes = Buffer.concat([pendingBytes, chunk]);
        while (pendingBytes.length >= 5 && pendingBytes.length >= 5 + pendingBytes.readUInt32BE(1)) {
          const length = pendingBytes.readUInt32BE(1);
          const response = fromBinary(SubscribeSnapshotsResponseSchema, pendingBytes.subarray(5, 5 + length));
          if (response.event.case === "snapshot") snapshots.push(response.event.value);
          pendingBytes = pendingBytes.subarray(5 + length);
        }
      });
    },
    ended,
    close() {
      stream.close();
      // Destroyed, not closed: a graceful close would wait for data this
      // client never reads, holding the server's session open.
      session.destroy();
    },
  };
}


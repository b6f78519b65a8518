// A bare node:http2 server answering every request with one pre-encoded
// gRPC response: the ceiling of Node's HTTP/2 stack on this machine, with no
// routing, decoding, handler or encoding work at all. PEER_ANSWER=connect-json
// answers as a unary Connect JSON call instead (a JSON body, no trailers).
import * as http2 from "node:http2";
import { create, toBinary, toJsonString } from "@bufbuild/protobuf";
import { GetSnapshotResponseSchema } from "../../src/gen/stockify/v1/market_data_service_pb.js";
import { Market } from "../../src/market/market.js";
import { MemorySnapshotStore } from "../../src/market/memory-store.js";
import { snapshotMessage } from "../../src/services/snapshot-messages.js";
import { allocationSampler } from "../lib/allocation-sampler.js";
import { serveParent } from "../lib/child.js";
import { grpcFrame } from "../lib/grpc-frame.js";
import { BENCH_SYMBOL_ID, seedTicks } from "./bench-market.js";

const market = new Market(new MemorySnapshotStore());
await market.ingest(seedTicks());
const snapshot = (await market.get(BENCH_SYMBOL_ID))!;
const message = create(GetSnapshotResponseSchema, { snapshot: snapshotMessage(snapshot) });
const body = grpcFrame(toBinary(GetSnapshotResponseSchema, message));
const responseHeaders = { ":status": 200, "content-type": "application/grpc" };
const json = Buffer.from(toJsonString(GetSnapshotResponseSchema, message));
const jsonHeaders = { ":status": 200, "content-type": "application/json", "content-length": json.length };

const server = http2.createServer();
if (process.env.PEER_ANSWER === "connect-json") {
  server.on("stream", (stream) => {
    // Drain the request, then answer: headers and the JSON body.
    stream.resume();
    stream.on("end", () => {
      stream.respond(jsonHeaders);
      stream.end(json);
    });
  });
} else server.on("stream", (stream) => {
  // Drain the request, then answer: headers, the message, grpc-status 0.
  stream.resume();
  stream.on("end", () => {
    stream.respond(responseHeaders, { waitForTrailers: true });
    stream.once("wantTrailers", () => stream.sendTrailers({ "grpc-status": "0" }));
    stream.end(body);
  });
});
server.listen(0, "127.0.0.1", () => {
  const address = server.address();
  if (address === null || typeof address === "string") throw new Error("ceiling did not bind a TCP port");
  process.once("SIGTERM", () => server.close(() => process.exit(0)));
  serveParent({ port: address.port }, allocationSampler());
});

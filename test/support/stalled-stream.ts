import * as http2 from "node:http2";
import { create, fromBinary, fromJsonString, toBinary, toJsonString, type DescMessage } from "@bufbuild/protobuf";
import {
  StreamMarketDataRequestSchema,
  StreamMarketDataResponseSchema,
  SubscribeSnapshotsRequestSchema,
  SubscribeSnapshotsResponseSchema,
} from "../../src/gen/stockify/v1/market_data_service_pb.js";
import type { Snapshot } from "../../src/gen/stockify/v1/snapshot_pb.js";
import { frame } from "./raw-grpc.js";
import { restStreamPath, type SubscribeOptions } from "./stream-subscribers.js";

/** SeenSnapshot is what a stalled reader keeps of each snapshot. */
export interface SeenSnapshot {
  symbolId: number;
  sequence: number;
}

/**
 * StalledStream is a subscription on raw HTTP/2 with a tiny flow-control
 * window that reads nothing until told to: the server soon has no window
 * left and must stop writing to it.
 */
export interface StalledStream {
  readonly snapshots: SeenSnapshot[];
  /** Starts reading what the server sent and sends from now on. */
  resume(): void;
  /** Hangs up: cancels the stream and closes the connection. */
  close(): void;
}

/**
 * StalledStreamCase is one protocol a stalled reader can speak: how it
 * asks for a subscription and how it reads the answer.
 */
export interface StalledStreamCase {
  name: string;
  open(baseUrl: string, request: SubscribeOptions): StalledStream;
}

const SUBSCRIBE_PATH = "/stockify.v1.MarketDataService/SubscribeSnapshots";
const BIDI_PATH = "/stockify.v1.MarketDataService/StreamMarketData";

/** gRPC's SubscribeSnapshots or StreamMarketData, both lanes alike. */
export function grpcStalled(bidi: boolean): StalledStreamCase {
  return envelopeCase(`gRPC ${bidi ? "StreamMarketData" : "SubscribeSnapshots"}`, bidi, "binary", {
    "content-type": "application/grpc",
    te: "trailers",
  });
}

/** STALLED_CASES: every protocol that streams over HTTP/2 on the default gateway. */
export const STALLED_CASES: StalledStreamCase[] = [
  grpcStalled(false),
  grpcStalled(true),
  envelopeCase("Connect binary SubscribeSnapshots over HTTP/2", false, "binary", connectHeaders("proto")),
  envelopeCase("Connect JSON SubscribeSnapshots over HTTP/2", false, "json", connectHeaders("json")),
  envelopeCase("Connect binary StreamMarketData over HTTP/2", true, "binary", connectHeaders("proto")),
  envelopeCase("gRPC-Web SubscribeSnapshots over HTTP/2", false, "binary", {
    "content-type": "application/grpc-web+proto",
    "x-grpc-web": "1",
  }),
  envelopeCase("gRPC-Web StreamMarketData over HTTP/2", true, "binary", {
    "content-type": "application/grpc-web+proto",
    "x-grpc-web": "1",
  }),
  restStalled("sse"),
  restStalled("ndjson"),
];

function connectHeaders(codec: "proto" | "json"): http2.OutgoingHttpHeaders {
  return { "content-type": `application/connect+${codec}`, "connect-protocol-version": "1" };
}

// gRPC, gRPC-Web and Connect all frame messages in 5-byte envelopes; the
// flags tell the protocols' end-of-stream frames (0x80 gRPC-Web trailers,
// 0x02 Connect end-stream) from messages.
function envelopeCase(name: string, bidi: boolean, codec: "binary" | "json", headers: http2.OutgoingHttpHeaders): StalledStreamCase {
  const requestSchema: DescMessage = bidi ? StreamMarketDataRequestSchema : SubscribeSnapshotsRequestSchema;
  const responseSchema: DescMessage = bidi ? StreamMarketDataResponseSchema : SubscribeSnapshotsResponseSchema;
  return {
    name,
    open(baseUrl, request) {
      const message = bidi
        ? create(StreamMarketDataRequestSchema, { action: { case: "subscribe", value: request } })
        : create(SubscribeSnapshotsRequestSchema, request);
      const bytes = codec === "binary" ? toBinary(requestSchema, message) : Buffer.from(toJsonString(requestSchema, message));
      let pending = Buffer.alloc(0);
      return stalled(
        baseUrl,
        { ":method": "POST", ":path": bidi ? BIDI_PATH : SUBSCRIBE_PATH, ...headers },
        // A bidi client keeps its side open, as one that may subscribe again would.
        bidi ? { write: frame(bytes) } : { end: frame(bytes) },
        (chunk, seen) => {
          pending = Buffer.concat([pending, chunk]);
          while (pending.length >= 5 && pending.length >= 5 + pending.readUInt32BE(1)) {
            const flags = pending[0]!;
            const payload = pending.subarray(5, 5 + pending.readUInt32BE(1));
            pending = pending.subarray(5 + payload.length);
            if ((flags & 0x82) !== 0) continue;
            const response =
              codec === "binary" ? fromBinary(responseSchema, payload) : fromJsonString(responseSchema, payload.toString());
            const event = (response as unknown as { event: { case: string | undefined; value?: unknown } }).event;
            if (event.case === "snapshot") seen(event.value as Snapshot);
          }
        },
      );
    },
  };
}

// REST's streams over HTTP/2: the same writer as HTTP/1.1, with a window
// the test controls.
function restStalled(format: "sse" | "ndjson"): StalledStreamCase {
  return {
    name: `${format === "sse" ? "Server-Sent Events" : "NDJSON"} over HTTP/2`,
    open(baseUrl, request) {
      let pending = "";
      return stalled(
        baseUrl,
        {
          ":method": "GET",
          ":path": restStreamPath(request),
          accept: format === "sse" ? "text/event-stream" : "application/x-ndjson",
        },
        { end: undefined },
        (chunk, seen) => {
          pending += chunk.toString();
          const separator = format === "sse" ? "\n\n" : "\n";
          let end: number;
          while ((end = pending.indexOf(separator)) !== -1) {
            const text = pending.slice(0, end);
            pending = pending.slice(end + separator.length);
            // An SSE block without data (the stream's opening `retry:`) is no message.
            if (format === "sse" && !text.includes("data: ")) continue;
            const json = JSON.parse(format === "sse" ? text.slice(text.indexOf("data: ") + 6) : text);
            const snapshot = format === "sse" ? json.snapshot : json.result?.snapshot;
            if (snapshot !== undefined) seen({ symbolId: snapshot.symbolId, sequence: BigInt(snapshot.sequence) });
          }
        },
      );
    },
  };
}

function stalled(
  baseUrl: string,
  headers: http2.OutgoingHttpHeaders,
  body: { write: Buffer } | { end: Buffer | undefined },
  parse: (chunk: Buffer, seen: (snapshot: Pick<Snapshot, "symbolId" | "sequence">) => void) => void,
): StalledStream {
  const session = http2.connect(baseUrl, { settings: { initialWindowSize: 4096 } });
  // A hang-up may reach a stream the server already reset.
  session.on("error", () => undefined);
  const stream = session.request(headers);
  stream.on("error", () => undefined);
  if ("write" in body) stream.write(body.write);
  else stream.end(body.end);
  // No 'data' listener until resume(): the stream stays paused and grants no window.
  const snapshots: SeenSnapshot[] = [];
  const seen = (snapshot: Pick<Snapshot, "symbolId" | "sequence">) =>
    snapshots.push({ symbolId: snapshot.symbolId, sequence: Number(snapshot.sequence) });
  return {
    snapshots,
    resume() {
      stream.on("data", (chunk: Buffer) => parse(chunk, seen));
    },
    close() {
      stream.close(http2.constants.NGHTTP2_CANCEL);
      session.destroy();
    },
  };
}

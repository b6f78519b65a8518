// Reads history back from the gateway the way a chart and an audit do:
// GetCandles for a whole day of 1-minute bars, and GetTicks pages of 1,000,
// one call at a time over one HTTP/2 connection, each call's latency kept.
import * as http2 from "node:http2";
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import { timestampFromMs } from "@bufbuild/protobuf/wkt";
import {
  GetCandlesRequestSchema,
  GetCandlesResponseSchema,
  GetTicksRequestSchema,
  GetTicksResponseSchema,
  MarketHistoryService,
} from "../../src/gen/stockify/v1/market_history_service_pb.js";
import { initMessage, serveParent } from "../lib/child.js";
import { GrpcMessageReader, grpcFrame } from "../lib/grpc-frame.js";
import { summarize } from "../lib/stats.js";

/** HistoryQueryInit names the gateway. */
export interface HistoryQueryInit {
  port: number;
}

const init = await initMessage<HistoryQueryInit>();
const session = http2.connect(`http://127.0.0.1:${init.port}`);
session.on("error", () => {});

function call(method: string, body: Uint8Array): Promise<Uint8Array> {
  return new Promise((resolve, reject) => {
    const stream = session.request({
      ":method": "POST",
      ":path": `/${MarketHistoryService.typeName}/${method}`,
      "content-type": "application/grpc",
      te: "trailers",
    });
    let message: Uint8Array | undefined;
    const reader = new GrpcMessageReader();
    // The buffer is valid only during the call: keep a copy.
    stream.on("data", (chunk: Buffer) => reader.push(chunk, (buffer, start, end) => (message = Uint8Array.prototype.slice.call(buffer, start, end))));
    stream.on("trailers", (trailers) => {
      const status = trailers["grpc-status"];
      if (status !== "0") reject(new Error(`${method}: grpc-status ${status} ${trailers["grpc-message"] ?? ""}`));
    });
    stream.on("end", () => (message === undefined ? reject(new Error(`${method}: no message`)) : resolve(message)));
    stream.on("error", reject);
    stream.end(grpcFrame(body));
  });
}

serveParent(
  {},
  {
    run: async (message) => {
      const symbolId = message.symbolId as number;
      const startMs = message.startMs as number;
      const queries = message.queries as number;
      const endMs = startMs + 86_400_000;
      const candles = toBinary(
        GetCandlesRequestSchema,
        create(GetCandlesRequestSchema, { symbolId, interval: "1m", startTime: timestampFromMs(startMs), endTime: timestampFromMs(endMs), pageSize: 1_500 }),
      );
      const ticks = toBinary(
        GetTicksRequestSchema,
        create(GetTicksRequestSchema, { symbolId, startTime: timestampFromMs(startMs), endTime: timestampFromMs(endMs), pageSize: 1_000 }),
      );
      const candleMs: number[] = [];
      const tickMs: number[] = [];
      let bars = 0;
      let rows = 0;
      for (let q = 0; q < queries; q++) {
        let t = performance.now();
        bars = fromBinary(GetCandlesResponseSchema, await call("GetCandles", candles)).candles.length;
        candleMs.push(performance.now() - t);
        t = performance.now();
        rows = fromBinary(GetTicksResponseSchema, await call("GetTicks", ticks)).ticks.length;
        tickMs.push(performance.now() - t);
      }
      return { bars, rows, getCandles: summarize(candleMs), getTicks: summarize(tickMs) };
    },
  },
);

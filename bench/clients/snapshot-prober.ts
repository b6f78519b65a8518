// A healthy caller: GetSnapshot over one HTTP/2 connection, one call at a
// time, paced, each call's latency kept between "start" and "stop".
import * as http2 from "node:http2";
import { initMessage, serveParent } from "../lib/child.js";
import { summarize } from "../lib/stats.js";

/** SnapshotProberInit sets the prober's gateway, pace and token. */
export interface SnapshotProberInit {
  port: number;
  symbolId: number;
  intervalMs: number;
  /** Bearer token to send, when the gateway has auth on. */
  token?: string;
}

const init = await initMessage<SnapshotProberInit>();
const session = http2.connect(`http://127.0.0.1:${init.port}`);
session.on("error", () => {});
const body = Buffer.from([0, 0, 0, 0, 2, 0x08, init.symbolId]);
const headers: http2.OutgoingHttpHeaders = {
  ":method": "POST",
  ":path": "/stockify.v1.MarketDataService/GetSnapshot",
  "content-type": "application/grpc",
  te: "trailers",
  ...(init.token === undefined ? {} : { authorization: `Bearer ${init.token}` }),
};
let samples: number[] = [];
let failed = 0;
let running = false;
let loop: Promise<void> = Promise.resolve();

function call(): Promise<boolean> {
  return new Promise((resolve) => {
    const stream = session.request(headers);
    let status: string | undefined;
    stream.on("response", (h) => (status ??= h["grpc-status"] as string | undefined));
    stream.on("trailers", (h) => (status = h["grpc-status"] as string));
    stream.on("error", () => {});
    stream.resume();
    stream.on("close", () => resolve(status === "0"));
    stream.end(body);
  });
}

serveParent({}, {
  start() {
    samples = [];
    failed = 0;
    running = true;
    loop = (async () => {
      while (running) {
        const started = performance.now();
        if (await call()) samples.push(performance.now() - started);
        else failed++;
        await new Promise((r) => setTimeout(r, init.intervalMs));
      }
    })();
    return {};
  },
  async stop() {
    running = false;
    await loop;
    return { latency: summarize(samples), failed };
  },
});

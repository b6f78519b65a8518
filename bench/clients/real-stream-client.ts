// SubscribeSnapshots the way an application would: connect-node's gRPC
// transport and a `for await` loop per stream, every message decoded. Its
// figures include the client's own cost and are reported apart from the
// lean client's.
import { createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { MarketDataService } from "../../src/gen/stockify/v1/market_data_service_pb.js";
import { initMessage, serveParent } from "../lib/child.js";
import type { StreamClientInit } from "./stream-client-init.js";
import { StreamTally } from "./stream-tally.js";

const init = await initMessage<StreamClientInit>();
const tally = new StreamTally();
const client = createClient(MarketDataService, createGrpcTransport({ baseUrl: `http://127.0.0.1:${init.port}` }));
const aborter = new AbortController();
let readyStreams = 0;
let sinceSample = 0;

await new Promise<void>((resolve, reject) => {
  for (let i = 0; i < init.streams; i++) {
    const symbolIds = init.symbolsPerStream >= init.symbolIds.length
      ? init.symbolIds
      : Array.from({ length: init.symbolsPerStream }, (_, k) => init.symbolIds[(i * init.symbolsPerStream + k) % init.symbolIds.length]!);
    void (async () => {
      // Ready once the current snapshot of each symbol is in: those must
      // not be counted as updates.
      let initial = symbolIds.length;
      let first = true;
      try {
        for await (const response of client.subscribeSnapshots({ symbolIds }, { signal: aborter.signal })) {
          if (first && --initial <= 0) {
            first = false;
            if (++readyStreams === init.streams) resolve();
            continue;
          }
          if (!tally.counting) continue;
          tally.messages++;
          if (++sinceSample >= init.sampleEvery && response.event.case === "snapshot") {
            sinceSample = 0;
            tally.sample(Number(response.event.value.bidSize));
          }
        }
      } catch (error) {
        if (aborter.signal.aborted) return;
        tally.lastError = String(error);
        if (first) reject(error);
      }
      if (!aborter.signal.aborted) tally.endedStreams++;
    })();
  }
});

serveParent({ streams: init.streams }, {
  start: () => {
    tally.start();
    return {};
  },
  stop: () => tally.stop(),
  close: () => {
    aborter.abort();
    return {};
  },
});

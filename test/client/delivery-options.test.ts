import assert from "node:assert/strict";
import { afterEach, describe, it } from "node:test";
import { MarketDataClient } from "../../packages/client/src/index.js";
import type { StreamMarketDataRequest } from "../../src/gen/stockify/v1/market_data_service_pb.js";
import { SnapshotMode } from "../../src/gen/stockify/v1/snapshot_pb.js";
import { startRecordingServer } from "../support/recording-server.js";
import { waitFor } from "../support/transports.js";

function subscribeValues(requests: readonly StreamMarketDataRequest[]) {
  return requests.flatMap((r) =>
    r.action.case === "subscribe"
      ? [{ symbolIds: r.action.value.symbolIds, mode: r.action.value.mode, rate: r.action.value.maxUpdatesPerSecond }]
      : [],
  );
}

describe("MarketDataClient field modes and rates", () => {
  const cleanups: Array<() => Promise<void>> = [];
  afterEach(async () => {
    while (cleanups.length > 0) await cleanups.pop()!();
  });
  async function setup() {
    const server = await startRecordingServer();
    cleanups.push(server.close);
    const client = new MarketDataClient({ baseUrl: server.baseUrl, retry: { initialBackoffMs: 10, maxBackoffMs: 50 } });
    cleanups.push(() => client.close());
    return { server, client };
  }

  it("subscribeSnapshots asks for the mode and rate it is given, and for quotes at every update by default", async () => {
    const { server, client } = await setup();
    for await (const snapshot of client.subscribeSnapshots([13, 25], { mode: "ltp", maxUpdatesPerSecond: 4 })) {
      assert.equal(snapshot.symbolId, 13);
      break;
    }
    for await (const _ of client.subscribeSnapshots([27])) break;
    assert.deepEqual(
      server.subscribes.map((r) => [r.symbolIds, r.mode, r.maxUpdatesPerSecond]),
      [
        [[13, 25], SnapshotMode.LTP, 4],
        [[27], SnapshotMode.QUOTE, 0],
      ],
    );
  });

  it("subscribeSnapshots refuses a mode or rate the request cannot carry before it calls", async () => {
    const { server, client } = await setup();
    for (const options of [{ mode: "depth" as never }, { maxUpdatesPerSecond: -1 }, { maxUpdatesPerSecond: 2.5 }, { maxUpdatesPerSecond: 2 ** 32 }]) {
      await assert.rejects(client.subscribeSnapshots([13], options).next(), TypeError);
    }
    assert.equal(server.subscribes.length, 0);
  });

  it("streamMarketData subscribes with the stream's mode and rate, or a subscribe's own", async () => {
    const { server, client } = await setup();
    const stream = client.streamMarketData([13], { mode: "full", maxUpdatesPerSecond: 10 });
    const loop = (async () => {
      for await (const _ of stream);
    })();
    cleanups.push(async () => {
      await stream.close();
      await loop;
    });
    await waitFor(() => server.streamRequests[0]?.length === 1, 5000, "the first subscribe");
    await stream.subscribe([25]);
    await stream.subscribe([27], { mode: "ltp" });
    await stream.subscribe([50_000], { maxUpdatesPerSecond: 0 });
    await assert.rejects(stream.subscribe([1], { maxUpdatesPerSecond: -4 }), TypeError);
    assert.deepEqual(subscribeValues(server.streamRequests[0]!), [
      { symbolIds: [13], mode: SnapshotMode.FULL, rate: 10 },
      { symbolIds: [25], mode: SnapshotMode.FULL, rate: 10 },
      { symbolIds: [27], mode: SnapshotMode.LTP, rate: 10 },
      { symbolIds: [50_000], mode: SnapshotMode.FULL, rate: 0 },
    ]);
  });

  it("streamMarketData subscribes every symbol again after a reconnect, each with its own mode and rate", async () => {
    const { server, client } = await setup();
    const stream = client.streamMarketData([13, 25], { mode: "ltp", maxUpdatesPerSecond: 4 });
    const loop = (async () => {
      for await (const _ of stream);
    })();
    cleanups.push(async () => {
      await stream.close();
      await loop;
    });
    await waitFor(() => server.streamRequests[0]?.length === 1, 5000, "the first subscribe");
    await stream.subscribe([27], { mode: "full" });
    server.dropConnections();
    await waitFor(() => (server.streamRequests[1]?.length ?? 0) >= 2, 5000, "the subscribes of the second call");
    assert.deepEqual(subscribeValues(server.streamRequests[1]!), [
      { symbolIds: [13, 25], mode: SnapshotMode.LTP, rate: 4 },
      { symbolIds: [27], mode: SnapshotMode.FULL, rate: 4 },
    ]);
    // The next subscribe is answered after both of the reconnect's.
    const change = await stream.subscribe([50_000]);
    assert.deepEqual(change.activeSymbolIds, [13, 25, 27, 50_000]);
  });
});

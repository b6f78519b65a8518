import assert from "node:assert/strict";
import { afterEach, describe, it } from "node:test";
import { Code } from "@connectrpc/connect";
import { MemorySnapshotStore } from "../../src/market/memory-store.js";
import { MarketDataClient, type ReconnectEvent, type SequenceGap, type Snapshot } from "../../packages/client/src/index.js";
import { crashable } from "../support/crash.js";
import { SEED_TICKS, startGateway, type TestGateway } from "../support/gateway.js";
import { startTcpProxy } from "../support/tcp-proxy.js";
import { waitFor } from "../support/transports.js";

/** Consumes a stream in the background, keeping what it yields. */
function collect(stream: AsyncIterable<Snapshot>) {
  const seen: Snapshot[] = [];
  let failure: unknown;
  const done = (async () => {
    for await (const snapshot of stream) seen.push(snapshot);
  })().catch((error: unknown) => {
    failure = error;
  });
  return {
    seen,
    done,
    get failure() {
      return failure;
    },
    has: (symbolId: number, ltp: number) => seen.some((s) => s.symbolId === symbolId && s.ltp === ltp),
  };
}

const FAST_RETRY = { initialBackoffMs: 10, maxBackoffMs: 50 };

describe("MarketDataClient streams", () => {
  const clients: MarketDataClient[] = [];
  const gateways: TestGateway[] = [];
  // Clients first: a gateway closes only once its streams have ended.
  afterEach(async () => {
    for (const c of clients.splice(0)) await c.close();
    for (const gw of gateways.splice(0)) await gw.close();
  });
  async function gateway(env: Record<string, string> = {}, store?: MemorySnapshotStore, seed = SEED_TICKS): Promise<TestGateway> {
    const gw = await startGateway(env, { store, seed });
    gateways.push(gw);
    return gw;
  }
  function client(baseUrl: string): MarketDataClient {
    const c = new MarketDataClient({ baseUrl, retry: FAST_RETRY });
    clients.push(c);
    return c;
  }

  it("subscribeSnapshots yields current snapshots, then live updates", async () => {
    const gw = await gateway();
    const stream = collect(client(gw.baseUrl).subscribeSnapshots([13, 25]));
    await waitFor(() => stream.seen.length >= 2, 5000, "initial snapshots");
    assert.deepEqual(stream.seen.map((s) => s.symbolId).sort(), [13, 25]);
    await gw.app.market.ingest([{ symbolId: 13, ltp: 24400 }]);
    await waitFor(() => stream.has(13, 24400), 5000, "the update of 13");
  });

  it("subscribeSnapshots reconnects after the gateway restarts on the same port, reporting the updates it missed", async () => {
    const store = new MemorySnapshotStore();
    const first = await gateway({}, store);
    const port = first.port;
    const { crash } = crashable(first);
    const gaps: SequenceGap[] = [];
    const reconnects: ReconnectEvent[] = [];
    const c = client(first.baseUrl);
    const stream = collect(
      c.subscribeSnapshots([13, 25], { onGap: (gap) => gaps.push(gap), onReconnect: (event) => reconnects.push(event) }),
    );
    await first.app.market.ingest([{ symbolId: 13, ltp: 24360 }]);
    await waitFor(() => stream.has(13, 24360) && stream.has(25, 52100), 5000, "the first update");
    const before = stream.seen.length;

    await crash();
    await waitFor(() => reconnects.length >= 1, 5000, "a reconnect attempt");
    // While the stream is down, two updates of 13 happen in the shared store.
    await store.apply([
      { symbolId: 13, ltp: 24370 },
      { symbolId: 13, ltp: 24380 },
    ]);
    const second = await gateway({ PORT: String(port) }, store, []);
    await waitFor(() => stream.has(13, 24380), 10_000, "the resumed stream");
    await second.app.market.ingest([{ symbolId: 13, ltp: 24390 }]);
    await waitFor(() => stream.has(13, 24390), 5000, "a live update after the restart");

    assert.equal(stream.has(13, 24370), false, "the skipped update is not invented");
    assert.deepEqual(
      gaps.map((g) => [g.symbolId, g.missed]),
      [[13, 1n]],
    );
    const after = stream.seen.slice(before);
    assert.equal(
      after.filter((s) => s.symbolId === 25).length,
      0,
      "25 did not change, so its snapshot is not repeated",
    );
    assert.equal(stream.failure, undefined);
  });

  it("subscribeSnapshots follows a gateway that shuts down gracefully and starts again", async () => {
    const store = new MemorySnapshotStore();
    const first = await gateway({ SHUTDOWN_TIMEOUT_MS: "2000" }, store);
    const reconnects: ReconnectEvent[] = [];
    const stream = collect(client(first.baseUrl).subscribeSnapshots([13], { onReconnect: (event) => reconnects.push(event) }));
    await waitFor(() => stream.seen.length === 1, 5000, "the first snapshot");
    await first.close();
    await waitFor(() => reconnects.length >= 1, 5000, "the client to notice the end of its stream");
    assert.equal(reconnects[0]!.error.code, Code.Unavailable);
    const second = await gateway({ PORT: String(first.port) }, store, []);
    await second.app.market.ingest([{ symbolId: 13, ltp: 24444 }]);
    await waitFor(() => stream.has(13, 24444), 10_000, "updates from the new gateway");
    assert.equal(stream.failure, undefined);
  });

  it("subscribeSnapshots ends with the error when the request itself is wrong", async () => {
    const gw = await gateway();
    const stream = collect(client(gw.baseUrl).subscribeSnapshots([13, 999]));
    await stream.done;
    assert.match(String(stream.failure), /999/);
  });

  it("streamMarketData adds and removes symbols while it runs", async () => {
    const gw = await gateway();
    const live = client(gw.baseUrl).streamMarketData([13]);
    const stream = collect(live);
    await waitFor(() => stream.seen.some((s) => s.symbolId === 13), 5000, "the snapshot of 13");

    const added = await live.subscribe([25, 999]);
    assert.deepEqual(added.activeSymbolIds, [13, 25]);
    assert.deepEqual(added.rejected, [{ symbolIds: [999], reason: "unknown symbol" }]);
    await waitFor(() => stream.seen.some((s) => s.symbolId === 25), 5000, "the snapshot of 25");

    const removed = await live.unsubscribe([13]);
    assert.deepEqual(removed.activeSymbolIds, [25]);
    assert.deepEqual(live.symbolIds, [25]);
    await gw.app.market.ingest([
      { symbolId: 13, ltp: 1 },
      { symbolId: 25, ltp: 52200 },
    ]);
    await waitFor(() => stream.has(25, 52200), 5000, "the update of 25");
    assert.equal(stream.has(13, 1), false, "13 no longer arrives");
    await live.close();
    await stream.done;
    assert.equal(stream.failure, undefined);
  });

  it("streamMarketData resubscribes to its current symbols after the gateway restarts", async () => {
    const store = new MemorySnapshotStore();
    const first = await gateway({}, store);
    const port = first.port;
    const { crash } = crashable(first);
    const live = client(first.baseUrl).streamMarketData([13]);
    const stream = collect(live);
    await live.subscribe([27]);
    await live.unsubscribe([13]);
    await waitFor(() => stream.seen.some((s) => s.symbolId === 27), 5000, "the snapshot of 27");

    await crash();
    await store.apply([{ symbolId: 27, ltp: 23900 }]);
    const second = await gateway({ PORT: String(port) }, store, []);
    await waitFor(() => stream.has(27, 23900), 10_000, "27 after the restart");
    assert.ok(live.reconnects >= 1);
    assert.deepEqual(live.activeSymbolIds, [27], "only the symbols it had are subscribed again");

    await second.app.market.ingest([
      { symbolId: 13, ltp: 2 },
      { symbolId: 27, ltp: 23950 },
    ]);
    await waitFor(() => stream.has(27, 23950), 5000, "a live update of 27");
    assert.equal(stream.has(13, 2), false);
    const changed = await live.subscribe([25]);
    assert.deepEqual(changed.activeSymbolIds, [25, 27], "subscribing works on the new call");
  });

  it("notices a connection that went silent by its keepalive pings, and reconnects", async () => {
    const gw = await gateway();
    const proxy = await startTcpProxy(gw.port);
    const c = new MarketDataClient({ baseUrl: proxy.baseUrl, retry: FAST_RETRY, keepaliveMs: 100, keepaliveTimeoutMs: 200 });
    clients.push(c);
    try {
      const reconnects: ReconnectEvent[] = [];
      const stream = collect(c.subscribeSnapshots([13], { onReconnect: (event) => reconnects.push(event) }));
      await waitFor(() => stream.seen.length === 1, 5000, "the first snapshot");
      proxy.blackhole();
      // No FIN, no RST: only the unanswered PING tells the client.
      await waitFor(() => reconnects.length >= 1, 5000, "the dead connection to be noticed");
      await waitFor(() => gw.app.market.hub.subscriberCount(13) >= 1 && proxy.connections >= 2, 5000, "a new connection");
      await gw.app.market.ingest([{ symbolId: 13, ltp: 24500 }]);
      await waitFor(() => stream.has(13, 24500), 5000, "updates on the new connection");
    } finally {
      await c.close();
      await proxy.close();
    }
  });

  it("subscribeSnapshots gets only the last price, its sequence and time in LTP mode, and the book too in FULL", async () => {
    const gw = await gateway();
    const book = {
      bids: [{ price: 24349.95, quantity: 75, orders: 3 }],
      asks: [{ price: 24350.05, quantity: 50, orders: 2 }, { price: 24350.1, quantity: 125, orders: 4 }],
    };
    await gw.app.market.ingest([{ symbolId: 13, ltp: 24350, depth: book }]);
    const c = client(gw.baseUrl);
    const ltp = collect(c.subscribeSnapshots([13], { mode: "ltp" }));
    const full = collect(c.subscribeSnapshots([13], { mode: "full" }));
    await waitFor(() => ltp.seen.length >= 1 && full.seen.length >= 1, 5000, "the current snapshots");
    const [light] = ltp.seen;
    assert.deepEqual([light!.symbolId, light!.ltp, light!.symbol, light!.open, light!.volume, light!.bid, light!.depth], [13, 24350, "", 0, 0n, 0, undefined]);
    assert.ok(light!.sequence > 0n && light!.exchangeTime !== undefined);
    const [heavy] = full.seen;
    assert.equal(heavy!.symbol, "NIFTY 50");
    assert.deepEqual(
      heavy!.depth!.asks.map((l) => [l.price, l.quantity, l.orders]),
      [
        [24350.05, 50n, 2],
        [24350.1, 125n, 4],
      ],
    );
  });

  it("subscribeSnapshots at 4 updates a second gets about that many, the latest last", async () => {
    const gw = await gateway();
    const limited = collect(client(gw.baseUrl).subscribeSnapshots([25], { maxUpdatesPerSecond: 4 }));
    await waitFor(() => limited.seen.length >= 1, 5000, "the current snapshot");
    const started = performance.now();
    // 50 updates over a second, one every 20 ms.
    for (let i = 1; i <= 50; i++) {
      await gw.app.market.ingest([{ symbolId: 25, ltp: 52100 + i }]);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    const seconds = (performance.now() - started) / 1000;
    await waitFor(() => limited.has(25, 52150), 2000, "the latest update");
    const updates = limited.seen.length - 1;
    // The rate allows 4 a second; one more for where the window falls.
    assert.ok(updates <= Math.ceil(seconds * 4) + 1, `${updates} updates in ${seconds.toFixed(2)} s`);
    assert.ok(updates >= 2, `${updates} updates in ${seconds.toFixed(2)} s`);
    assert.equal(limited.seen.at(-1)!.ltp, 52150);
  });

  it("streamMarketData delivers each symbol in the mode it was subscribed with", async () => {
    const gw = await gateway();
    await gw.app.market.ingest([{ symbolId: 25, ltp: 52100, depth: { bids: [{ price: 52099.95, quantity: 30, orders: 1 }], asks: [] } }]);
    const live = client(gw.baseUrl).streamMarketData([13], { mode: "ltp" });
    const stream = collect(live);
    await live.subscribe([25], { mode: "full" });
    await waitFor(() => stream.seen.some((s) => s.symbolId === 13) && stream.seen.some((s) => s.symbolId === 25), 5000, "both snapshots");
    const nifty = stream.seen.find((s) => s.symbolId === 13)!;
    const bank = stream.seen.find((s) => s.symbolId === 25)!;
    assert.deepEqual([nifty.symbol, nifty.depth], ["", undefined]);
    assert.equal(bank.symbol, "BANK NIFTY");
    assert.deepEqual(bank.depth!.bids.map((l) => l.price), [52099.95]);
    await live.close();
    await stream.done;
  });

  it("ends every stream when the client closes", async () => {
    const gw = await gateway();
    const c = new MarketDataClient({ baseUrl: gw.baseUrl });
    const one = collect(c.subscribeSnapshots([13]));
    const two = collect(c.streamMarketData([25]));
    await waitFor(() => one.seen.length > 0 && two.seen.length > 0, 5000, "both streams");
    await c.close();
    await Promise.all([one.done, two.done]);
    assert.equal(one.failure, undefined);
    assert.equal(two.failure, undefined);
  });
});

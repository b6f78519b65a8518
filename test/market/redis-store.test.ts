import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { InvalidTickError, StoreUnavailableError } from "../../src/market/errors.js";
import { MemorySnapshotStore } from "../../src/market/memory-store.js";
import { createRedisSnapshotStore, type RedisSnapshotStore } from "../../src/market/redis-store.js";
import type { Snapshot, Tick } from "../../src/market/snapshot.js";
import { startRedis, type TestRedis } from "../support/redis-server.js";
import { waitFor } from "../support/transports.js";

describe("RedisSnapshotStore", () => {
  let redis: TestRedis;
  const stores: RedisSnapshotStore[] = [];
  let prefixes = 0;

  async function open(keyPrefix: string, options: { timeoutMs?: number } = {}) {
    const store = createRedisSnapshotStore({ url: redis.url, keyPrefix, maxReconnectDelayMs: 100, ...options });
    stores.push(store);
    assert.equal(await store.waitUntilHealthy(5000), true, "store connects");
    return store;
  }
  const prefix = () => `test${++prefixes}:`;

  before(async () => {
    redis = await startRedis();
  });
  after(async () => {
    await Promise.all(stores.map((s) => s.close()));
    const client = redis.client();
    const leftover = await client.keys("*").catch(() => []);
    await redis.stop();
    // The server is private and unpersisted; this checks the test's own keys were scoped.
    assert.ok(leftover.every((key) => /^test\d+:/.test(key)), `unexpected keys: ${leftover.join(", ")}`);
  });

  it("folds ticks exactly as the in-memory store does, prices and names intact", async () => {
    const store = await open(prefix());
    const memory = new MemorySnapshotStore();
    const ticks: Tick[] = [
      { symbolId: 7, symbol: "A|B\nC%20 ₹", ltp: 0.1 + 0.2, exchangeTimeMs: 1000 },
      { symbolId: 7, ltp: 24350.05, volume: 2 ** 40, bid: 24350, exchangeTimeMs: 1001 },
      { symbolId: 7, ltp: 0.05, volume: 3, askSize: 9, exchangeTimeMs: 1002 },
      { symbolId: 8, ltp: 1e-7, bid: 0, ask: 1e21, bidSize: 5, exchangeTimeMs: 1003 },
      { symbolId: 7, ltp: 99999.95, symbol: "renamed ₹", exchangeTimeMs: 1004 },
    ];
    const fromRedis = await store.apply(ticks);
    const fromMemory = await memory.apply(ticks);
    assert.deepEqual(fromRedis, fromMemory);
    assert.deepEqual(await store.get(7), fromMemory[4]);
    assert.deepEqual(await store.list(), await memory.list());
  });

  it("folds books exactly as the in-memory store does: replaced when a tick carries one, kept otherwise", async () => {
    const store = await open(prefix());
    const memory = new MemorySnapshotStore();
    const book = {
      bids: [{ price: 0.1 + 0.2, quantity: 2 ** 40, orders: 3 }, { price: 0.25, quantity: 10, orders: 1 }],
      asks: [{ price: 0.35, quantity: 5, orders: 0xffffffff }],
    };
    const ticks: Tick[] = [
      { symbolId: 5, ltp: 0.3, depth: book, exchangeTimeMs: 1000 },
      { symbolId: 5, ltp: 0.35, volume: 5, exchangeTimeMs: 1001 },
      { symbolId: 5, ltp: 0.3, bid: 0.2, depth: { bids: [], asks: book.asks }, exchangeTimeMs: 1002 },
      { symbolId: 5, ltp: 0.3, depth: { bids: [], asks: [] }, exchangeTimeMs: 1003 },
      { symbolId: 6, ltp: 1, exchangeTimeMs: 1004 },
    ];
    const fromRedis = await store.apply(ticks);
    assert.deepEqual(fromRedis, await memory.apply(ticks));
    assert.deepEqual(fromRedis[1]!.depth, book);
    assert.deepEqual(await store.get(5), fromRedis[3]);
  });

  it("stamps ticks without a time with the writer's clock", async () => {
    const store = await open(prefix());
    const before = Date.now();
    const [snapshot] = await store.apply([{ symbolId: 1, ltp: 10 }]);
    assert.ok(snapshot!.exchangeTimeMs >= before && snapshot!.exchangeTimeMs <= Date.now());
  });

  it("answers getMany of 1000 symbols with one command", async () => {
    const store = await open(prefix());
    const ids = Array.from({ length: 1000 }, (_, i) => 5000 + i);
    // 1000 ticks are folded by two scripts sent in one pipeline.
    await store.apply(ids.map((symbolId) => ({ symbolId, ltp: symbolId / 10 })));
    const client = redis.client();
    await client.config("RESETSTAT");
    const got = await store.getMany([...ids, 42]);
    const stats = await client.info("commandstats");
    assert.equal(got.length, 1001);
    assert.equal(got[999]!.symbolId, 5999);
    assert.equal(got[1000], undefined);
    assert.match(stats, /cmdstat_mget:calls=1,/);
    assert.doesNotMatch(stats, /cmdstat_get:/);
  });

  it("never loses or reorders updates when two stores write one symbol at once", async () => {
    const keyPrefix = prefix();
    const a = await open(keyPrefix);
    const b = await open(keyPrefix);
    const seen: number[] = [];
    a.onUpdate((s) => s.symbolId === 99 && seen.push(s.sequence));
    const batches = 50;
    const writes: Promise<Snapshot[]>[] = [];
    for (let i = 0; i < batches; i++) {
      for (const store of [a, b]) {
        writes.push(store.apply([{ symbolId: 99, ltp: 100 + i, volume: 1 }, { symbolId: 99, ltp: 101, volume: 1 }]));
      }
    }
    const results = (await Promise.all(writes)).flat();
    const total = batches * 2 * 2;
    assert.deepEqual(
      results.map((s) => s.sequence).sort((x, y) => x - y),
      Array.from({ length: total }, (_, i) => i + 1),
    );
    const last = await b.get(99);
    assert.equal(last!.sequence, total);
    assert.equal(last!.volume, total);
    await waitFor(() => seen.length === total, 5000, "every update announced");
    assert.deepEqual(seen, Array.from({ length: total }, (_, i) => i + 1), "announced in sequence order");
  });

  it("asks admission for each tick with the snapshot it folds into, and writes nothing of a batch it refuses", async () => {
    const store = await open(prefix());
    await store.apply([{ symbolId: 41, symbol: "FORTY-ONE", ltp: 10 }]);
    const seen: Array<[number, number | undefined, number | undefined]> = [];
    const refusing = (previous: Snapshot | undefined, tick: Tick, index: number) => {
      seen.push([index, previous?.sequence, previous?.ltp]);
      if (tick.ltp > 100) throw new InvalidTickError(`ticks[${index}].ltp is too high`);
    };
    await assert.rejects(
      store.apply([{ symbolId: 41, ltp: 11 }, { symbolId: 42, symbol: "FORTY-TWO", ltp: 1 }, { symbolId: 41, ltp: 12 }, { symbolId: 41, ltp: 500 }], refusing),
      /^InvalidTickError: ticks\[3\]\.ltp is too high$/,
    );
    assert.deepEqual(seen, [[0, 1, 10], [1, undefined, undefined], [2, 2, 11], [3, 3, 12]]);
    assert.equal((await store.get(41))!.sequence, 1, "nothing of the refused batch was written");
    assert.equal(await store.get(42), undefined);
    const applied = await store.apply([{ symbolId: 41, ltp: 13 }], refusing);
    assert.equal(applied[0]!.sequence, 2);
  });

  it("fails fast while Redis is down and serves again once it is back, resubscribed", async () => {
    const store = await open(prefix());
    const health: boolean[] = [];
    store.onHealthChange((healthy) => health.push(healthy));
    await store.apply([{ symbolId: 3, ltp: 1 }]);

    await redis.kill();
    await waitFor(() => !store.healthy, 5000, "store unhealthy");
    const started = Date.now();
    await assert.rejects(store.get(3), StoreUnavailableError);
    await assert.rejects(store.apply([{ symbolId: 3, ltp: 2 }]), StoreUnavailableError);
    await assert.rejects(store.getMany([3]), StoreUnavailableError);
    await assert.rejects(store.list(), StoreUnavailableError);
    assert.ok(Date.now() - started < 3000, "calls fail without waiting for Redis");

    await redis.restart();
    await waitFor(() => store.healthy, 10_000, "store healthy again");
    assert.deepEqual(health, [false, true]);
    const updates: number[] = [];
    store.onUpdate((s) => updates.push(s.symbolId));
    // The restarted server is empty: the symbol starts over.
    const [snapshot] = await store.apply([{ symbolId: 3, ltp: 4 }]);
    assert.equal(snapshot!.sequence, 1);
    await waitFor(() => updates.includes(3), 5000, "update received after resubscribing");
  });

  it("notices a frozen Redis within its timeout, idle or busy, fails every call at once until it answers, then serves again", async () => {
    const timeoutMs = 400;
    const store = await open(prefix(), { timeoutMs });
    await store.apply([{ symbolId: 5, ltp: 1 }]);
    const health: boolean[] = [];
    store.onHealthChange((healthy) => health.push(healthy));

    // Idle: nothing in flight when Redis freezes, so only the PINGs can tell.
    redis.pause();
    let frozenAt = Date.now();
    try {
      await waitFor(() => !store.healthy, 5000, "store unhealthy while Redis is frozen");
      const noticedAfter = Date.now() - frozenAt;
      // A timer may run a little late on a busy machine: allow a quarter more.
      assert.ok(noticedAfter <= timeoutMs * 1.25 + 50, `noticed after ${noticedAfter} ms, the bound is ${timeoutMs} ms`);
      for (const call of [() => store.get(5), () => store.apply([{ symbolId: 5, ltp: 2 }]), () => store.list()]) {
        const started = Date.now();
        await assert.rejects(call(), StoreUnavailableError);
        assert.ok(Date.now() - started < 50, `a call during the freeze waited ${Date.now() - started} ms`);
      }
    } finally {
      redis.resume();
    }
    await waitFor(() => store.healthy, 10_000, "store healthy once Redis answers");
    assert.equal((await store.get(5))!.ltp, 1, "the tick refused during the freeze was not applied");

    // Busy: a call is waiting on Redis when it freezes; it fails within the bound.
    redis.pause();
    frozenAt = Date.now();
    try {
      await assert.rejects(store.get(5), StoreUnavailableError);
      const failedAfter = Date.now() - frozenAt;
      assert.ok(failedAfter <= timeoutMs * 1.25 + 50, `the waiting call failed after ${failedAfter} ms`);
      assert.equal(store.healthy, false);
    } finally {
      redis.resume();
    }
    await waitFor(() => store.healthy, 10_000, "store healthy again");
    assert.deepEqual(health, [false, true, false, true]);
  });
});

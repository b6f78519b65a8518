import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { StoreUnavailableError } from "../../src/market/errors.js";
import type { Candle, HistoryStore, TickRecord } from "../../src/market/history-store.js";
import { HistoryWriter, type HistoryWriterOptions } from "../../src/market/history-writer.js";

// FlakyStore keeps what it is given unless the test has turned it off, when
// every append fails the way a lost connection would; it remembers how many
// appends ran at once.
class FlakyStore implements HistoryStore {
  healthy = true;
  delayMs = 0;
  readonly batches: number[][] = [];
  attempts = 0;
  #inFlight = 0;
  maxInFlight = 0;

  async append(records: readonly TickRecord[]): Promise<void> {
    this.attempts++;
    this.maxInFlight = Math.max(this.maxInFlight, ++this.#inFlight);
    try {
      if (this.delayMs > 0) await sleep(this.delayMs);
      if (!this.healthy) throw new Error("connect ECONNREFUSED 127.0.0.1:5432");
      this.batches.push(records.map((r) => r.sequence));
    } finally {
      this.#inFlight--;
    }
  }

  get written(): number[] {
    return this.batches.flat();
  }

  candles(): Promise<Candle[]> {
    return Promise.resolve([]);
  }
  ticks(): Promise<TickRecord[]> {
    return Promise.resolve([]);
  }
  onHealthChange(): () => void {
    return () => {};
  }
  close(): Promise<void> {
    return Promise.resolve();
  }
}

function recs(from: number, count: number): TickRecord[] {
  return Array.from({ length: count }, (_, i) => ({
    symbolId: 13,
    sequence: from + i,
    timeMs: 1_000 + i,
    price: 100,
    quantity: 1,
    bid: 99,
    ask: 101,
    bidSize: 1,
    askSize: 1,
  }));
}

function logs() {
  const lines: Array<{ level: string; obj: object; msg: string }> = [];
  return {
    lines,
    warn: (obj: object, msg: string) => void lines.push({ level: "warn", obj, msg }),
    info: (obj: object, msg: string) => void lines.push({ level: "info", obj, msg }),
  };
}

const BASE: HistoryWriterOptions = {
  queueLimit: 1_000,
  batchSize: 100,
  flushMs: 10_000,
  policy: "drop",
  ack: "async",
  ackTimeoutMs: 1_000,
  retryMinMs: 10,
  retryMaxMs: 40,
  closeTimeoutMs: 200,
};

async function until(test: () => boolean, timeoutMs = 2_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!test()) {
    if (Date.now() > deadline) assert.fail("condition not met in time");
    await sleep(2);
  }
}

function pending(promise: Promise<unknown>): () => boolean {
  let settled = false;
  promise.then(
    () => (settled = true),
    () => (settled = true),
  );
  return () => !settled;
}

describe("HistoryWriter", () => {
  it("writes a batch as soon as batchSize ticks wait, one append at a time", async () => {
    const store = new FlakyStore();
    store.delayMs = 5;
    const sizes: number[] = [];
    const writer = new HistoryWriter(store, {
      ...BASE,
      batchSize: 3,
      onBatch: (size, ms) => {
        assert.ok(ms >= 0);
        sizes.push(size);
      },
    });
    for (const record of recs(1, 10)) await writer.record([record]);
    await until(() => store.batches.length === 3);
    assert.deepEqual(store.batches, [[1, 2, 3], [4, 5, 6], [7, 8, 9]]);
    assert.equal(writer.depth, 1);
    await writer.flush();
    assert.deepEqual(store.written, [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    assert.deepEqual(sizes, [3, 3, 3, 1]);
    assert.equal(store.maxInFlight, 1);
    assert.equal(writer.depth, 0);
    await writer.close();
  });

  it("writes a smaller batch flushMs after its first tick was queued", async () => {
    const store = new FlakyStore();
    const writer = new HistoryWriter(store, { ...BASE, flushMs: 40 });
    const started = Date.now();
    await writer.record(recs(1, 2));
    await sleep(10);
    await writer.record(recs(3, 1));
    assert.deepEqual(store.batches, []);
    await until(() => store.batches.length === 1);
    assert.ok(Date.now() - started >= 38, `written after ${Date.now() - started} ms`);
    assert.deepEqual(store.batches, [[1, 2, 3]]);
    await writer.close();
  });

  it("keeps a failed batch and writes it when the store is back, queueing new ticks meanwhile", async () => {
    const store = new FlakyStore();
    store.healthy = false;
    const log = logs();
    const writer = new HistoryWriter(store, { ...BASE, batchSize: 2, flushMs: 20, logger: log });
    await writer.record(recs(1, 5));
    await sleep(80);
    assert.deepEqual(store.batches, []);
    assert.ok(store.attempts >= 3, `${store.attempts} attempts`);
    // Backing off: far fewer attempts than 80 ms of 10 ms retries would make.
    assert.ok(store.attempts <= 6, `${store.attempts} attempts`);
    await writer.record(recs(6, 2));
    assert.equal(writer.depth, 7);
    assert.equal(log.lines.filter((l) => l.msg === "history write failed; retrying").length, 1);
    store.healthy = true;
    await until(() => writer.depth === 0);
    assert.deepEqual(store.written, [1, 2, 3, 4, 5, 6, 7]);
    assert.equal(store.maxInFlight, 1);
    assert.equal(writer.dropped, 0);
    assert.ok(log.lines.some((l) => l.level === "info" && l.msg === "history writes resumed"));
    await writer.close();
  });

  it("treats a store that throws instead of rejecting as down", async () => {
    const store = new FlakyStore();
    let throws = 2;
    const append = store.append.bind(store);
    store.append = (records) => {
      if (throws-- > 0) throw new Error("not connected");
      return append(records);
    };
    const writer = new HistoryWriter(store, { ...BASE, batchSize: 2 });
    await writer.record(recs(1, 2));
    await until(() => writer.depth === 0);
    assert.deepEqual(store.written, [1, 2]);
    await writer.close();
  });

  it("drops the new ticks that do not fit a full queue, counting them and logging once per 10 s", async () => {
    const store = new FlakyStore();
    store.healthy = false;
    const log = logs();
    const drops: number[] = [];
    const writer = new HistoryWriter(store, { ...BASE, queueLimit: 4, batchSize: 2, logger: log, onDrop: (count) => void drops.push(count) });
    await writer.record(recs(1, 6));
    await writer.record(recs(7, 3));
    assert.equal(writer.depth, 4);
    assert.equal(writer.dropped, 5);
    assert.deepEqual(drops, [2, 3]);
    const warnings = log.lines.filter((l) => l.msg === "history queue full: dropping ticks");
    assert.deepEqual(warnings.map((l) => l.obj), [{ dropped: 2, queueLimit: 4 }]);
    store.healthy = true;
    await until(() => writer.depth === 0);
    assert.deepEqual(store.written, [1, 2, 3, 4]);
    await writer.close();
  });

  it("under backpressure makes record wait for room, in the order recorded, and resumes", async () => {
    const store = new FlakyStore();
    store.healthy = false;
    const writer = new HistoryWriter(store, { ...BASE, policy: "backpressure", queueLimit: 3, batchSize: 2 });
    await writer.record(recs(1, 2));
    const second = writer.record(recs(3, 3));
    const third = writer.record(recs(6, 1));
    const secondWaits = pending(second);
    const thirdWaits = pending(third);
    await sleep(50);
    assert.ok(secondWaits() && thirdWaits());
    assert.equal(writer.depth, 3);
    assert.equal(writer.dropped, 0);
    store.healthy = true;
    await Promise.all([second, third]);
    await writer.flush();
    assert.deepEqual(store.written, [1, 2, 3, 4, 5, 6]);
    await writer.close();
  });

  it("under durable ack resolves record once its batch committed", async () => {
    const store = new FlakyStore();
    store.delayMs = 20;
    const writer = new HistoryWriter(store, { ...BASE, ack: "durable", flushMs: 5 });
    const first = writer.record(recs(1, 2));
    await sleep(0);
    const second = writer.record(recs(3, 1));
    await first;
    assert.deepEqual(store.written.slice(0, 2), [1, 2]);
    await second;
    assert.deepEqual(store.written, [1, 2, 3]);
    await writer.close();
  });

  it("under durable ack rejects after ackTimeoutMs, leaving the ticks queued to be written later", async () => {
    const store = new FlakyStore();
    store.healthy = false;
    const writer = new HistoryWriter(store, { ...BASE, ack: "durable", flushMs: 1, ackTimeoutMs: 60 });
    const started = Date.now();
    await assert.rejects(writer.record(recs(1, 2)), (error: unknown) => {
      assert.ok(error instanceof StoreUnavailableError);
      assert.match(error.message, /within 60 ms/);
      return true;
    });
    assert.ok(Date.now() - started >= 55);
    assert.equal(writer.depth, 2);
    store.healthy = true;
    await writer.flush();
    assert.deepEqual(store.written, [1, 2]);
    await writer.close();
  });

  it("under durable ack rejects at once the ticks a full queue dropped", async () => {
    const store = new FlakyStore();
    store.healthy = false;
    const writer = new HistoryWriter(store, { ...BASE, ack: "durable", queueLimit: 2, ackTimeoutMs: 5_000 });
    await assert.rejects(writer.record(recs(1, 3)), /queue is full: 1 ticks dropped/);
    assert.equal(writer.dropped, 1);
    store.healthy = true;
    await writer.close();
    assert.deepEqual(store.written, [1, 2]);
  });

  it("writes what is queued on close, and counts as dropped what it cannot", async () => {
    const store = new FlakyStore();
    const writer = new HistoryWriter(store, BASE);
    await writer.record(recs(1, 3));
    await writer.close();
    assert.deepEqual(store.batches, [[1, 2, 3]]);
    assert.equal(writer.dropped, 0);
    await writer.record(recs(4, 1));
    assert.equal(writer.dropped, 1);

    const down = new FlakyStore();
    down.healthy = false;
    const log = logs();
    const stuck = new HistoryWriter(down, { ...BASE, logger: log });
    await stuck.record(recs(1, 5));
    const started = Date.now();
    await stuck.close();
    assert.ok(Date.now() - started < 1_000);
    assert.equal(stuck.dropped, 5);
    assert.equal(stuck.depth, 0);
    assert.deepEqual(log.lines.filter((l) => l.level === "warn" && l.msg !== "history write failed; retrying").map((l) => [l.msg, l.obj]), [
      ["history writer closed with ticks it could not write", { unwritten: 5 }],
    ]);
  });

  it("refuses options it cannot work with", () => {
    const store = new FlakyStore();
    assert.throws(() => new HistoryWriter(store, { ...BASE, queueLimit: 0 }), /queueLimit/);
    assert.throws(() => new HistoryWriter(store, { ...BASE, batchSize: 1.5 }), /batchSize/);
    assert.throws(() => new HistoryWriter(store, { ...BASE, flushMs: -1 }), /flushMs/);
  });
});

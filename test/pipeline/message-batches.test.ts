import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { Code, ConnectError } from "@connectrpc/connect";
import { batchedIterable, isBatchedIterable, messageBatches, observeBatches } from "../../src/pipeline/message-batches.js";
import { StreamDrain } from "../../src/pipeline/stream-drain.js";
import { MarketDataService } from "../../src/gen/stockify/v1/market_data_service_pb.js";

function source(batches: number[][], fail?: Error) {
  let returned = 0;
  const iterable = batchedIterable(async function* () {
    try {
      for (const batch of batches) yield batch;
      if (fail !== undefined) throw fail;
    } finally {
      returned++;
    }
  });
  return { iterable, returned: () => returned };
}

describe("message batches", () => {
  it("reads message by message or a burst at a time", async () => {
    const { iterable } = source([[1, 2], [3]]);
    const messages: number[] = [];
    for await (const m of iterable) messages.push(m);
    assert.deepEqual(messages, [1, 2, 3]);
    const batches: number[][] = [];
    const iterator = source([[1, 2], [3]]).iterable[messageBatches]();
    for (let r = await iterator.next(); r.done !== true; r = await iterator.next()) batches.push(r.value);
    assert.deepEqual(batches, [[1, 2], [3]]);
  });

  it("lets an observer count bursts and hear the end, staying readable in bursts", async () => {
    const seen: number[] = [];
    let ended: unknown = "not yet";
    const failure = new Error("source failed");
    const observed = observeBatches(source([[1, 2], [3]], failure).iterable, {
      batch: (messages) => seen.push(messages.length),
      end: (error) => (ended = error),
    });
    assert.ok(isBatchedIterable(observed));
    await assert.rejects(async () => {
      for await (const _ of observed) {
        // reading to the failure
      }
    }, /source failed/);
    assert.deepEqual(seen, [2, 1]);
    assert.equal(ended, failure);
  });

  it("tells the source when a reader leaves early", async () => {
    const s = source([[1], [2], [3]]);
    for await (const m of s.iterable) if (m === 1) break;
    assert.equal(s.returned(), 1);
  });

  it("stays batched through the shutdown interceptor, which can still end it with UNAVAILABLE", async () => {
    const drain = new StreamDrain();
    let wake: (() => void) | undefined;
    const parked = batchedIterable(async function* () {
      yield [1];
      // Parked on its next read, as a stream waiting for an update is.
      await new Promise<void>((resolve) => (wake = resolve));
      yield [2];
    });
    const next = async () => ({ stream: true, message: parked }) as never;
    const res = (await drain.interceptor(next)({
      stream: true,
      method: MarketDataService.method.subscribeSnapshots,
      message: (async function* () {})(),
    } as never)) as { message: AsyncIterable<number> };
    assert.ok(isBatchedIterable(res.message));
    const batches = (res.message as ReturnType<typeof batchedIterable<number>>)[messageBatches]();
    assert.deepEqual((await batches.next()).value, [1]);
    const pending = batches.next();
    await drain.drain();
    await assert.rejects(pending, (e: unknown) => e instanceof ConnectError && e.code === Code.Unavailable);
    wake?.();
  });
});

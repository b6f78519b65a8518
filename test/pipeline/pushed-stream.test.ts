import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { Code, ConnectError } from "@connectrpc/connect";
import { MarketDataService } from "../../src/gen/stockify/v1/market_data_service_pb.js";
import { isPushedStream, observePushed, pushedStream, pushMessages, type MessageSink } from "../../src/pipeline/pushed-stream.js";
import { StreamDrain } from "../../src/pipeline/stream-drain.js";

/**
 * A source that pushes the given batches as its sink lets it: after a
 * push answered false it waits for resume(). It ends after the last batch,
 * with `fail` if given, or when cancelled.
 */
function source(batches: number[][], fail?: Error) {
  const log = { answers: [] as boolean[], resumes: 0, cancels: 0, starts: 0 };
  const stream = pushedStream<number>((sink) => {
    log.starts++;
    let next = 0;
    let over = false;
    const pump = () => {
      while (!over && next < batches.length) {
        const more = sink.push(batches[next++]!);
        log.answers.push(more);
        if (!more) return;
      }
      if (!over) {
        over = true;
        sink.end(fail);
      }
    };
    setImmediate(pump);
    return {
      resume() {
        log.resumes++;
        pump();
      },
      cancel() {
        log.cancels++;
        if (over) return;
        over = true;
        sink.end(undefined);
      },
    };
  });
  return { stream, log };
}

/** A sink that takes everything and records it. */
function recordingSink() {
  const batches: number[][] = [];
  const ends: unknown[] = [];
  const sink: MessageSink<number> = {
    push(messages) {
      batches.push([...messages]);
      return true;
    },
    end(error) {
      ends.push(error);
    },
  };
  return { sink, batches, ends };
}

const turn = () => new Promise<void>((resolve) => setImmediate(resolve));

describe("pushed streams", () => {
  it("iterate message by message, holding the source back until the reader took each batch", async () => {
    const { stream, log } = source([[1, 2], [3]]);
    const iterator = stream[Symbol.asyncIterator]();
    assert.deepEqual(await iterator.next(), { value: 1, done: false });
    await turn();
    assert.deepEqual(log.answers, [false], "the source is told to wait");
    assert.equal(log.resumes, 0, "half a batch is still with the reader");
    assert.deepEqual(await iterator.next(), { value: 2, done: false });
    assert.equal(log.resumes, 1);
    assert.deepEqual(await iterator.next(), { value: 3, done: false });
    assert.deepEqual(await iterator.next(), { value: undefined, done: true });
    assert.deepEqual(log.answers, [false, false]);
    assert.equal(log.resumes, 2);
    assert.equal(log.cancels, 0, "a source that ended is not cancelled");
  });

  it("start the source once per reader", async () => {
    const { stream, log } = source([[1], [2]]);
    const read = async () => {
      const messages: number[] = [];
      for await (const m of stream) messages.push(m);
      return messages;
    };
    assert.deepEqual(await Promise.all([read(), read()]), [
      [1, 2],
      [1, 2],
    ]);
    assert.equal(log.starts, 2);
  });

  it("take a sink directly, which hears one end and nothing after it", async () => {
    let misbehave: ((messages: number[]) => boolean) | undefined;
    const stream = pushedStream<number>((sink) => {
      sink.push([1, 2]);
      sink.end(undefined);
      sink.end(new Error("twice"));
      misbehave = (messages) => sink.push(messages);
      return { resume() {}, cancel() {} };
    });
    assert.ok(isPushedStream(stream));
    assert.equal(
      isPushedStream((async function* () {})()),
      false,
    );
    const { sink, batches, ends } = recordingSink();
    stream[pushMessages](sink);
    assert.equal(misbehave?.([3]), false, "a push after the end is refused");
    assert.deepEqual(batches, [[1, 2]]);
    assert.deepEqual(ends, [undefined]);
  });

  it("let an observer count batches and hear the end once, staying pushed", async () => {
    const seen: number[] = [];
    const ends: unknown[] = [];
    const failure = new Error("source failed");
    const observed = observePushed(source([[1, 2], [3]], failure).stream, {
      batch: (messages) => seen.push(messages.length),
      end: (error) => ends.push(error),
    });
    assert.ok(isPushedStream(observed));
    const messages: number[] = [];
    await assert.rejects(async () => {
      for await (const m of observed) messages.push(m);
    }, /source failed/);
    assert.deepEqual(messages, [1, 2, 3]);
    assert.deepEqual(seen, [2, 1]);
    assert.deepEqual(ends, [failure]);

    // Pushed to a sink that keeps up, the same stream flows without being held back.
    const { stream, log } = source([[4], [5, 6]]);
    const pushed = recordingSink();
    const counted: number[] = [];
    const endings: unknown[] = [];
    observePushed(stream, { batch: (m) => counted.push(m.length), end: (e) => endings.push(e) })[pushMessages](pushed.sink);
    await turn();
    assert.deepEqual(pushed.batches, [[4], [5, 6]]);
    assert.deepEqual(pushed.ends, [undefined]);
    assert.deepEqual(counted, [1, 2]);
    assert.deepEqual(endings, [undefined]);
    assert.equal(log.resumes, 0);
  });

  it("cancel the source when a reader leaves early, and the observer hears the end once", async () => {
    const { stream, log } = source([[1, 2], [3]]);
    const ends: unknown[] = [];
    const observed = observePushed(stream, { batch: () => undefined, end: (error) => ends.push(error) });
    for await (const m of observed) if (m === 1) break;
    assert.equal(log.cancels, 1);
    assert.deepEqual(ends, [undefined]);
  });

  it("end the iteration with the source's error, after the messages before it", async () => {
    const failure = new Error("feed lost");
    const iterator = source([[1]], failure).stream[Symbol.asyncIterator]();
    assert.deepEqual(await iterator.next(), { value: 1, done: false });
    await assert.rejects(iterator.next(), (error: unknown) => error === failure);
    assert.deepEqual(await iterator.next(), { value: undefined, done: true });
  });

  it("stay pushed through the shutdown interceptor, which can still end an iteration with UNAVAILABLE", async () => {
    const drain = new StreamDrain();
    // A source parked after its first batch, as a stream waiting for an update is.
    let cancels = 0;
    const parked = pushedStream<number>((sink) => {
      setImmediate(() => sink.push([1]));
      return {
        resume() {},
        cancel() {
          cancels++;
          sink.end(undefined);
        },
      };
    });
    const next = async () => ({ stream: true, message: parked }) as never;
    const res = (await drain.interceptor(next)({
      stream: false,
      method: MarketDataService.method.subscribeSnapshots,
    } as never)) as { message: AsyncIterable<number> };
    assert.ok(isPushedStream(res.message));
    const iterator = res.message[Symbol.asyncIterator]();
    assert.deepEqual(await iterator.next(), { value: 1, done: false });
    const pending = iterator.next();
    assert.equal(drain.openStreams, 1);
    await drain.drain();
    await assert.rejects(pending, (e: unknown) => e instanceof ConnectError && e.code === Code.Unavailable);
    assert.deepEqual(await iterator.next(), { value: undefined, done: true });
    assert.equal(cancels, 1);
    assert.equal(drain.openStreams, 0);
  });
});

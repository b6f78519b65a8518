/**
 * messageBatches is the key of the batch reader of a BatchedIterable.
 */
export const messageBatches: unique symbol = Symbol("messageBatches");

/**
 * BatchedIterable is a stream of messages that can also be read a burst at
 * a time: every message ready now in one array.
 *
 * Any consumer may iterate it message by message (Connect does). A lane
 * that writes to the wire reads the batches instead, paying one wait and
 * one write per burst instead of one per message: with a thousand streams
 * that is what decides whether a core delivers tens of thousands of
 * messages a second or a million.
 */
export interface BatchedIterable<T> extends AsyncIterable<T> {
  [messageBatches](): AsyncIterator<T[]>;
}

/**
 * batchedIterable makes a BatchedIterable from a source of batches (an
 * async generator yielding arrays, typically).
 */
export function batchedIterable<T>(batches: () => AsyncIterator<T[]>): BatchedIterable<T> {
  return {
    [messageBatches]: batches,
    async *[Symbol.asyncIterator]() {
      for await (const batch of readBatches(batches())) yield* batch;
    },
  };
}

/**
 * isBatchedIterable tells whether a stream can be read in batches.
 */
export function isBatchedIterable<T>(iterable: AsyncIterable<T>): iterable is BatchedIterable<T> {
  return typeof (iterable as Partial<BatchedIterable<T>>)[messageBatches] === "function";
}

/**
 * BatchObserver hears of every batch a stream yields, and of its end.
 */
export interface BatchObserver<T> {
  batch(messages: readonly T[]): void;
  /** Called once: `error` is what ended the stream, undefined when it ended well or was left. */
  end(error: unknown): void;
}

/**
 * observeBatches watches a stream without taking its batches apart: an
 * interceptor that counts messages keeps the stream readable in batches.
 */
export function observeBatches<T>(iterable: BatchedIterable<T>, observer: BatchObserver<T>): BatchedIterable<T> {
  return batchedIterable(async function* () {
    let failure: unknown;
    try {
      for await (const batch of readBatches(iterable[messageBatches]())) {
        observer.batch(batch);
        yield batch;
      }
    } catch (error) {
      failure = error;
      throw error;
    } finally {
      observer.end(failure);
    }
  });
}

// Reads batches to the end. Only a reader that leaves early tells the
// source; one whose read ended or failed must not wait on it (the source
// may be parked on its next read, and would hold the reader forever).
async function* readBatches<T>(iterator: AsyncIterator<T[]>): AsyncGenerator<T[]> {
  let ended = false;
  try {
    for (;;) {
      ended = true;
      const result = await iterator.next();
      if (result.done === true) return;
      ended = false;
      yield result.value;
    }
  } finally {
    if (!ended) await iterator.return?.();
  }
}

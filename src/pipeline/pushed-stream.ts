/**
 * pushMessages is the key under which a PushedStream takes its sink.
 */
export const pushMessages: unique symbol = Symbol("pushMessages");

/**
 * MessageSink is the sending side of a stream, as a lane or an interceptor
 * sees it: batches go in, then one end.
 */
export interface MessageSink<T> {
  /**
   * Takes a batch of messages. Returns false when it cannot take more until
   * it calls `resume()` on the stream's control; the source then holds
   * back (and, for market data, conflates) instead of queueing.
   */
  push(messages: readonly T[]): boolean;
  /** Hears, once, that the stream ended: with the error that ended it, or undefined. */
  end(error: unknown): void;
}

/**
 * PushControl is what a consumer holds of a pushed stream.
 */
export interface PushControl {
  /** The sink can take batches again. */
  resume(): void;
  /** The consumer is gone: the source stops and releases what it holds; the sink's end is still called once. */
  cancel(): void;
}

/**
 * PushedStream is a response stream whose source pushes batches to a sink
 * when they are ready, instead of being pulled a message at a time.
 *
 * A lane that writes to the wire attaches a sink and pays nothing per
 * message beyond the write: no promise, no iterator step. Every other
 * consumer (Connect's handlers) iterates it as the AsyncIterable it also
 * is. Interceptors that watch or end streams wrap the sink, so a stream
 * they touched stays a pushed one.
 */
export interface PushedStream<T> extends AsyncIterable<T> {
  [pushMessages](sink: MessageSink<T>): PushControl;
}

/**
 * pushedStream makes a PushedStream of a function that starts the source
 * for one sink. The function is called once per consumer.
 */
export function pushedStream<T>(start: (sink: MessageSink<T>) => PushControl): PushedStream<T> {
  return {
    [pushMessages]: (sink) => start(endsOnce(sink)),
    [Symbol.asyncIterator]: () => pull(start),
  };
}

/**
 * isPushedStream tells whether a stream takes a sink.
 */
export function isPushedStream<T>(iterable: AsyncIterable<T>): iterable is PushedStream<T> {
  return typeof (iterable as Partial<PushedStream<T>>)[pushMessages] === "function";
}

/**
 * StreamObserver hears of every batch a stream sends, and of its end.
 */
export interface StreamObserver<T> {
  batch(messages: readonly T[]): void;
  /** Called once: `error` is what ended the stream, undefined when it ended well or was left. */
  end(error: unknown): void;
}

/**
 * observePushed watches a pushed stream without changing how it is sent.
 */
export function observePushed<T>(stream: PushedStream<T>, observer: StreamObserver<T>): PushedStream<T> {
  return pushedStream((sink) =>
    stream[pushMessages]({
      push(messages) {
        observer.batch(messages);
        return sink.push(messages);
      },
      end(error) {
        observer.end(error);
        sink.end(error);
      },
    }),
  );
}

function endsOnce<T>(sink: MessageSink<T>): MessageSink<T> {
  let ended = false;
  return {
    push: (messages) => !ended && sink.push(messages),
    end(error) {
      if (ended) return;
      ended = true;
      sink.end(error);
    },
  };
}

// Iterating a pushed stream: the sink holds at most one batch and asks the
// source to wait until the reader took it, so a reader that is slower than
// the source leaves the holding back (and conflating) to the source.
function pull<T>(start: (sink: MessageSink<T>) => PushControl): AsyncIterator<T> {
  let batch: readonly T[] | undefined;
  let index = 0;
  let ended = false;
  let failure: unknown;
  let wake: (() => void) | undefined;
  let control: PushControl | undefined;
  const sink: MessageSink<T> = {
    push(messages) {
      if (ended) return false;
      batch = messages;
      index = 0;
      wake?.();
      return false;
    },
    end(error) {
      if (ended) return;
      ended = true;
      failure = error;
      wake?.();
    },
  };
  return {
    async next(): Promise<IteratorResult<T>> {
      control ??= start(endsOnce(sink));
      for (;;) {
        if (batch !== undefined) {
          const message = batch[index++]!;
          if (index >= batch.length) {
            batch = undefined;
            if (!ended) control.resume();
          }
          return { value: message, done: false };
        }
        if (ended) {
          if (failure !== undefined) {
            const error = failure;
            failure = undefined;
            throw error;
          }
          return { value: undefined, done: true };
        }
        await new Promise<void>((resolve) => (wake = resolve));
        wake = undefined;
      }
    },
    async return(): Promise<IteratorResult<T>> {
      if (!ended) {
        ended = true;
        batch = undefined;
        control?.cancel();
      }
      return { value: undefined, done: true };
    },
  };
}

/**
 * pushedFromIterable gives a stream that is only iterable (a health watch,
 * an embedder's handler) the pushed form, so that every stream is written
 * by one writer: the iterable is read a message at a time, and reading
 * waits while the sink is full.
 */
export function pushedFromIterable<T>(iterable: AsyncIterable<T>): PushedStream<T> {
  if (isPushedStream(iterable)) return iterable;
  return {
    [Symbol.asyncIterator]: () => iterable[Symbol.asyncIterator](),
    [pushMessages](target) {
      const sink = endsOnce(target);
      const iterator = iterable[Symbol.asyncIterator]();
      let held: (() => void) | undefined;
      let cancelled = false;
      const read = async () => {
        try {
          for (;;) {
            const result = await iterator.next();
            if (result.done === true || cancelled) break;
            if (!sink.push([result.value])) await new Promise<void>((resolve) => (held = resolve));
            if (cancelled) break;
          }
          sink.end(undefined);
        } catch (error) {
          sink.end(error);
        }
      };
      void read();
      return {
        resume() {
          const resume = held;
          held = undefined;
          resume?.();
        },
        cancel() {
          if (cancelled) return;
          cancelled = true;
          this.resume();
          // Not awaited: a source parked on its next read ends when the call's signal does.
          iterator.return?.().catch(() => undefined);
        },
      };
    },
  };
}

import { Code, ConnectError, type Interceptor } from "@connectrpc/connect";
import { isPushedStream, pushedStream, pushMessages, type PushedStream } from "./pushed-stream.js";

type Next = Parameters<Interceptor>[0];

/**
 * StreamDrain ends the streams in flight with UNAVAILABLE when the gateway
 * shuts down, and refuses calls that arrive after, so that clients
 * reconnect to another replica instead of waiting on a server that is
 * going away.
 *
 * It works as an interceptor, so streams of every protocol and lane are
 * ended the same way, whatever their handler is waiting for (the next
 * update, the client's next message).
 */
export class StreamDrain {
  readonly #open = new Set<{ interrupt(error: unknown): void }>();
  #error: ConnectError | undefined;

  /** The interceptor that tracks streams; put it in the shared chain. */
  readonly interceptor: Interceptor = (next) => (req) => {
    if (this.#error !== undefined) return Promise.reject(this.#error);
    // Unary calls pass straight through: no promise of this interceptor's own.
    if (req.method.methodKind === "unary") return next(req);
    return this.#tracked(next, req);
  };

  async #tracked(next: Next, req: Parameters<Next>[0]): ReturnType<Next> {
    let input: { interrupt(error: unknown): void } | undefined;
    if (req.stream) {
      const source = req.message;
      const messages = this.#interruptible(() => source[Symbol.asyncIterator]());
      input = messages;
      req = { ...req, message: { [Symbol.asyncIterator]: () => messages } };
    }
    let res;
    try {
      res = await next(req);
    } catch (error) {
      if (input !== undefined) this.#open.delete(input);
      throw error;
    }
    if (!res.stream) {
      if (input !== undefined) this.#open.delete(input);
      return res;
    }
    // A bidirectional call is over when its response stream is.
    return { ...res, message: this.#track(res.message, input) };
  }

  /** True once drain() was called. */
  get draining(): boolean {
    return this.#error !== undefined;
  }

  /** Streams (request or response sides) in flight. */
  get openStreams(): number {
    return this.#open.size;
  }

  /**
   * Ends every stream in flight with UNAVAILABLE and refuses new calls.
   * The streams end on the next turn of the event loop, after messages
   * already on their way (a health watcher's NOT_SERVING) are sent.
   */
  async drain(message = "server is shutting down"): Promise<void> {
    if (this.#error !== undefined) return;
    this.#error = new ConnectError(message, Code.Unavailable);
    await new Promise((resolve) => setImmediate(resolve));
    for (const stream of this.#open) stream.interrupt(this.#error);
    this.#open.clear();
  }

  #track<T>(source: AsyncIterable<T>, companion?: { interrupt(error: unknown): void }): AsyncIterable<T> {
    // A pushed stream stays one: its sink is what gets ended.
    if (isPushedStream(source)) return this.#interruptiblePush(source, companion);
    const messages = this.#interruptible(() => source[Symbol.asyncIterator](), companion);
    return { [Symbol.asyncIterator]: () => messages };
  }

  #interruptiblePush<T>(source: PushedStream<T>, companion?: { interrupt(error: unknown): void }): PushedStream<T> {
    return pushedStream((sink) => {
      const forget = () => {
        this.#open.delete(stream);
        if (companion !== undefined) this.#open.delete(companion);
      };
      const stream = {
        interrupt: (error: unknown) => {
          // Ended first, so that what the cancelled source says last is not heard.
          end(error);
          control.cancel();
        },
      };
      let ended = false;
      const end = (error: unknown) => {
        ended = true;
        forget();
        sink.end(error);
      };
      const control = source[pushMessages]({ push: (messages) => sink.push(messages), end });
      if (this.#error !== undefined) stream.interrupt(this.#error);
      else if (!ended) this.#open.add(stream);
      return control;
    });
  }

  #interruptible<T>(open: () => AsyncIterator<T>, companion?: { interrupt(error: unknown): void }): Interruptible<T> {
    const stream: Interruptible<T> = new Interruptible(open, () => {
      this.#open.delete(stream);
      if (companion !== undefined) this.#open.delete(companion);
    });
    if (this.#error !== undefined) stream.interrupt(this.#error);
    else this.#open.add(stream);
    return stream;
  }
}

/**
 * Interruptible passes a stream's messages through until it is
 * interrupted; then the pending and every later read fail with the error.
 */
class Interruptible<T> implements AsyncIterator<T> {
  readonly #open: () => AsyncIterator<T>;
  readonly #onEnd: () => void;
  #iterator: AsyncIterator<T> | undefined;
  #failPending: ((error: unknown) => void) | undefined;
  #error: unknown;

  constructor(open: () => AsyncIterator<T>, onEnd: () => void) {
    this.#open = open;
    this.#onEnd = onEnd;
  }

  next(): Promise<IteratorResult<T>> {
    if (this.#error !== undefined) return Promise.reject(this.#error);
    const iterator = (this.#iterator ??= this.#open());
    return new Promise((resolve, reject) => {
      this.#failPending = reject;
      iterator.next().then(
        (result) => {
          this.#failPending = undefined;
          if (result.done === true) this.#onEnd();
          resolve(result);
        },
        (error: unknown) => {
          this.#failPending = undefined;
          this.#onEnd();
          reject(error);
        },
      );
    });
  }

  return(value?: unknown): Promise<IteratorResult<T>> {
    this.#onEnd();
    const iterator = this.#iterator;
    if (iterator?.return === undefined) return Promise.resolve({ done: true, value: value as T });
    if (this.#error !== undefined) {
      // The source may still be parked on the read that was interrupted,
      // which ends only once the call is torn down: a consumer that waited
      // for it here would keep the call from being torn down.
      iterator.return(value).catch(() => undefined);
      return Promise.resolve({ done: true, value: value as T });
    }
    return iterator.return(value);
  }

  interrupt(error: unknown): void {
    this.#error = error;
    const fail = this.#failPending;
    this.#failPending = undefined;
    fail?.(error);
  }
}

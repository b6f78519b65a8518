import type { Writable } from "node:stream";
import { Code, ConnectError } from "@connectrpc/connect";
import { pushMessages, type PushControl, type PushedStream } from "./pushed-stream.js";
import type { StreamBudget } from "./stream-budget.js";

/**
 * PushedStreamWriterHooks are what a protocol adds to writing a pushed
 * stream: how a message looks on its wire, and what starts and ends a
 * response.
 */
export interface PushedStreamWriterHooks<T> {
  /** Encodes one message, framed for the wire. May throw (a message over the size limit). */
  encode(message: T): Uint8Array;
  /**
   * Encodes a batch, framed for the wire, when the protocol keeps the bytes
   * of batches shared by many streams (a frozen array). Default: each
   * message encoded, the frames joined.
   */
  encodeBatch?(messages: readonly T[]): Uint8Array;
  /** Called before the first write (to send response headers). */
  beforeFirstWrite(): void;
  /** Called once when the stream ended: with the error that ended it, or undefined. */
  end(error: unknown): void;
}

/**
 * writePushedStream writes a pushed stream to a Node writable (an HTTP/2
 * stream, an HTTP/1.1 response): each batch as one write of its frames.
 *
 * This is the one backpressure wait of the gateway's streams: when the
 * writable is full (no HTTP/2 window, a slow socket) the sink says so, the
 * source holds back and conflates, and the writable's `drain` resumes it.
 * A writable whose client has gone is not written to again; its `close`
 * cancels the source at once, which releases everything it holds.
 */
export function writePushedStream<T>(
  writable: Writable,
  source: PushedStream<T>,
  hooks: PushedStreamWriterHooks<T>,
  signal?: AbortSignal,
  budget?: StreamBudget,
): PushControl {
  let started = false;
  let ended = false;
  let waiting = false;
  // Over the process's budget for stuck streams, this one is ended: its
  // client has the status if it ever reads, and its buffers are freed now.
  const held = {
    evict() {
      end(new ConnectError("the stream's client reads too slowly: the server's buffers for stuck streams are full", Code.ResourceExhausted));
      control.cancel();
      writable.destroy();
    },
  };
  const onDrain = () => {
    waiting = false;
    budget?.release(held);
    control.resume();
  };
  const onClose = () => control.cancel();
  // A call whose signal ends (deadline, client gone) is over even if its
  // source does not watch the signal.
  const onAbort = () => {
    end(undefined);
    control.cancel();
  };
  const end = (error: unknown) => {
    if (ended) return;
    ended = true;
    writable.off("drain", onDrain);
    writable.off("close", onClose);
    signal?.removeEventListener("abort", onAbort);
    budget?.release(held);
    hooks.end(error);
  };
  const control: PushControl = source[pushMessages]({
    push(messages) {
      if (ended || writable.destroyed || !writable.writable) return false;
      let chunk: Uint8Array;
      try {
        if (messages.length === 1) chunk = hooks.encode(messages[0]!);
        else if (hooks.encodeBatch !== undefined) chunk = hooks.encodeBatch(messages);
        else chunk = Buffer.concat(messages.map((m) => hooks.encode(m)));
      } catch (error) {
        // Failed here, not in the source's delivery cycle, which serves every other stream too.
        queueMicrotask(() => {
          end(error);
          control.cancel();
        });
        return false;
      }
      if (!started) {
        started = true;
        hooks.beforeFirstWrite();
      }
      if (writable.write(chunk)) return true;
      if (!waiting) {
        waiting = true;
        writable.once("drain", onDrain);
      }
      budget?.hold(held, writable.writableLength);
      return false;
    },
    end,
  });
  if (writable.destroyed) control.cancel();
  else writable.once("close", onClose);
  if (signal?.aborted) onAbort();
  else signal?.addEventListener("abort", onAbort, { once: true });
  return control;
}

import type * as http2 from "node:http2";

/**
 * StreamWriter coalesces the frames written to one HTTP/2 stream in the
 * same turn of the event loop into one write, and holds the writer back
 * while the stream has no flow-control window.
 *
 * The cost of streaming is the number of writes into nghttp2, not bytes:
 * corking until the next turn makes a burst of updates one DATA write, and
 * an idle stream still gets each update at once (one turn later). While the
 * stream waits for a window the writer awaits, so the producer behind it
 * (a bounded, conflating subscription) decides what is dropped instead of
 * memory growing here.
 */
export class StreamWriter {
  private corked = false;
  private waiting: Promise<void> | undefined;

  constructor(private readonly stream: http2.ServerHttp2Stream) {}

  /** write queues one frame, resolving when the writer may write more. */
  write(frame: Uint8Array): Promise<void> | void {
    const stream = this.stream;
    if (!this.corked) {
      this.corked = true;
      stream.cork();
      setImmediate(this.uncork);
    }
    if (stream.write(frame)) return;
    return this.drained();
  }

  /** flush writes out what is corked now. */
  flush(): Promise<void> | void {
    this.uncork();
    if (this.stream.writableNeedDrain) return this.drained();
  }

  private readonly uncork = (): void => {
    if (!this.corked) return;
    this.corked = false;
    this.stream.uncork();
  };

  private drained(): Promise<void> {
    return (this.waiting ??= new Promise<void>((resolve) => {
      const stream = this.stream;
      const done = () => {
        stream.off("drain", done);
        stream.off("close", done);
        this.waiting = undefined;
        resolve();
      };
      stream.on("drain", done);
      stream.on("close", done);
      this.uncork();
    }));
  }
}

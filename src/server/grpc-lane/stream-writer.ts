import type * as http2 from "node:http2";

/**
 * FlushScheduler decides when the frames corked on many streams go out:
 * a stream that has been quiet for a window flushes at once (on the next
 * turn of the event loop), a busy one at most once per window. One timer
 * and one immediate serve every stream of the lane.
 *
 * The cost of streaming is the number of writes into nghttp2, not bytes:
 * under load, a window turns a thousand streams times a hundred updates a
 * second into a thousand writes per window; when idle, an update still
 * leaves at once.
 */
export class FlushScheduler {
  private readonly soon = new Set<StreamWriter>();
  private readonly later = new Set<StreamWriter>();
  private immediate: NodeJS.Immediate | undefined;
  private timer: NodeJS.Timeout | undefined;

  /** `windowMs`: the shortest time between two flushes of one busy stream; 0 flushes every turn. */
  constructor(readonly windowMs: number) {}

  /** schedule arranges a flush of a writer that has corked frames. */
  schedule(writer: StreamWriter): void {
    if (this.windowMs === 0 || performance.now() - writer.lastFlush >= this.windowMs) {
      this.soon.add(writer);
      this.immediate ??= setImmediate(this.flushSoon);
    } else {
      this.later.add(writer);
      if (this.timer === undefined) {
        this.timer = setTimeout(this.flushLater, this.windowMs);
        this.timer.unref();
      }
    }
  }

  private readonly flushSoon = (): void => {
    this.immediate = undefined;
    flushAll(this.soon);
  };

  private readonly flushLater = (): void => {
    this.timer = undefined;
    flushAll(this.later);
  };
}

function flushAll(writers: Set<StreamWriter>): void {
  const now = performance.now();
  for (const writer of writers) writer.flush(now);
  writers.clear();
}

/**
 * StreamWriter corks the frames written to one HTTP/2 stream until its
 * scheduler flushes them (one writev for all of them), and holds the writer
 * back while the stream has no flow-control window: the producer behind it
 * (a bounded, conflating subscription) then decides what is dropped,
 * instead of memory growing here.
 */
export class StreamWriter {
  /** When this writer last flushed, on performance.now()'s clock. */
  lastFlush = Number.NEGATIVE_INFINITY;
  private corked = false;
  private waiting: Promise<void> | undefined;
  private flushing: Promise<void> | undefined;
  private onFlushed: (() => void) | undefined;

  constructor(
    private readonly stream: http2.ServerHttp2Stream,
    private readonly scheduler: FlushScheduler,
  ) {}

  /** write corks one frame; false when the writer should wait for `drained()`. */
  write(frame: Uint8Array): boolean {
    const stream = this.stream;
    if (!this.corked) {
      this.corked = true;
      stream.cork();
      this.scheduler.schedule(this);
    }
    return stream.write(frame);
  }

  /** flush writes out what is corked. */
  flush(now = performance.now()): void {
    if (!this.corked) return;
    this.corked = false;
    this.lastFlush = now;
    this.stream.uncork();
    const onFlushed = this.onFlushed;
    this.onFlushed = undefined;
    this.flushing = undefined;
    onFlushed?.();
  }

  /**
   * flushed resolves when what is corked now has been written; undefined
   * when nothing is. A reader that waits for it before taking more lets
   * updates pile up in its (conflating) subscription while the window is
   * shut, so a busy stream wakes once per window, not once per update.
   */
  flushed(): Promise<void> | undefined {
    if (!this.corked) return undefined;
    return (this.flushing ??= new Promise<void>((resolve) => (this.onFlushed = resolve)));
  }

  /** drained resolves when the stream can take more, or is gone; undefined when it can now. */
  drained(): Promise<void> | undefined {
    const stream = this.stream;
    if (!stream.writableNeedDrain || stream.destroyed) return undefined;
    return (this.waiting ??= new Promise<void>((resolve) => {
      const done = () => {
        stream.off("drain", done);
        stream.off("close", done);
        this.waiting = undefined;
        resolve();
      };
      stream.on("drain", done);
      stream.on("close", done);
    }));
  }
}

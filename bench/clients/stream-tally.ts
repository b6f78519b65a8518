import { monotonicMicros } from "../peers/bench-market.js";

/** Most latency samples one client process keeps. */
const MAX_SAMPLES = 100_000;

/**
 * StreamTally counts what a streaming client process receives between the
 * runner's `start` and `stop`, and keeps publish-to-receive latencies.
 */
export class StreamTally {
  messages = 0;
  #counting = false;
  #started = 0;
  #latenciesMs: number[] = [];
  /** Streams that ended or failed while they should have stayed open. */
  endedStreams = 0;
  lastError: string | undefined;

  /** Starts counting from zero. */
  start(): void {
    this.messages = 0;
    this.#latenciesMs = [];
    this.#started = performance.now();
    this.#counting = true;
  }

  /** Whether the runner asked to count. */
  get counting(): boolean {
    return this.#counting;
  }

  /** Notes the publish stamp (microseconds) of a received snapshot. */
  sample(publishedMicros: number): void {
    if (!this.#counting || publishedMicros <= 0 || this.#latenciesMs.length >= MAX_SAMPLES) return;
    this.#latenciesMs.push((monotonicMicros() - publishedMicros) / 1000);
  }

  /** Stops counting and returns the counts. */
  stop(): Record<string, unknown> {
    this.#counting = false;
    return {
      messages: this.messages,
      elapsedMs: performance.now() - this.#started,
      latenciesMs: this.#latenciesMs,
      endedStreams: this.endedStreams,
      lastError: this.lastError,
    };
  }
}

/**
 * StreamClientInit tells a streaming client process what to open.
 */
export interface StreamClientInit {
  port: number;
  /** Streams this process opens. */
  streams: number;
  /** Streams multiplexed on one HTTP/2 connection. */
  streamsPerSession: number;
  /** The symbols to choose from. */
  symbolIds: number[];
  /** Symbols each stream subscribes to (all of them when at least as many). */
  symbolsPerStream: number;
  /** Decode one message in this many for its latency. */
  sampleEvery: number;
}

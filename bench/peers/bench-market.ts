import { setImmediate as yieldToIo } from "node:timers/promises";
import { loadConfig, type GatewayConfig } from "../../src/config.js";
import { defaultUniverse } from "../../src/market/default-universe.js";
import type { Market } from "../../src/market/market.js";
import type { Tick } from "../../src/market/snapshot.js";
import type { ChildHandler } from "../lib/child.js";

/** Synthetic symbols every peer is seeded with, besides 13, 25 and 27: 103 in all. */
export const BENCH_SYNTHETIC_SYMBOLS = 100;

/** The symbol unary calls ask for. */
export const BENCH_SYMBOL_ID = 13;

/**
 * benchConfig is the gateway configuration every peer runs with: the
 * environment's settings (STREAM_BUFFER_SIZE, ...), but no simulator, no
 * logs, a free loopback port, no tokens (load generators send none) and no
 * price band (their synthetic prices walk from 1000 to 2000 whatever the
 * symbol's close).
 */
export function benchConfig(): GatewayConfig {
  return loadConfig({
    ...process.env,
    SIMULATOR: "off",
    LOG_LEVEL: "silent",
    HOST: "127.0.0.1",
    PORT: "0",
    // Off unless a suite asks for auth (BENCH_AUTH_TOKENS, as AUTH_TOKENS).
    AUTH_TOKENS: process.env.BENCH_AUTH_TOKENS ?? "",
    AUTH_TOKENS_FILE: "",
    PRICE_BAND_PERCENT: "0",
  });
}

/**
 * benchSymbolIds lists the ids every peer holds, indices first.
 */
export function benchSymbolIds(): number[] {
  return defaultUniverse(BENCH_SYNTHETIC_SYMBOLS).map((s) => s.symbolId);
}

/**
 * seedTicks gives every bench symbol its first snapshot, the same on every
 * peer and every run.
 */
export function seedTicks(): Tick[] {
  return defaultUniverse(BENCH_SYNTHETIC_SYMBOLS).map((s) => ({
    symbolId: s.symbolId,
    symbol: s.symbol,
    ltp: s.basePrice,
    volume: 100,
    bid: s.basePrice - s.tickSize,
    ask: s.basePrice + s.tickSize,
    bidSize: 0,
    askSize: 10,
  }));
}

/**
 * monotonicMicros reads the system's monotonic clock in microseconds: on
 * Linux every process reads the same clock (CLOCK_MONOTONIC), unaffected by
 * wall-clock adjustments, so a receiver can subtract a publisher's stamp.
 */
export function monotonicMicros(): number {
  const [seconds, nanos] = process.hrtime();
  return seconds * 1_000_000 + Math.floor(nanos / 1000);
}

/**
 * marketControl gives a peer's runner two requests: `feed` publishes ticks
 * into the market (paced, or as fast as the process can while still serving
 * its streams) and `memory` reports memory after a full collection.
 *
 * Each tick carries its publish time, in microseconds, in `bid_size`: a
 * receiver reads it back to measure publish-to-receive latency without any
 * shared state but the machine's monotonic clock. The prices are synthetic anyway.
 */
export function marketControl(market: Market): Record<string, ChildHandler> {
  return {
    async feed(message) {
      const durationMs = Number(message.durationMs);
      const ratePerSecond = Number(message.ratePerSecond ?? 0);
      const symbolIds = (message.symbolIds as number[] | undefined) ?? benchSymbolIds();
      const batch = ratePerSecond > 0 ? 1 : Number(message.batch ?? 10);
      const started = performance.now();
      let published = 0;
      let price = 1000;
      while (performance.now() - started < durationMs) {
        const ticks: Tick[] = [];
        for (let i = 0; i < batch; i++) {
          price = price >= 2000 ? 1000 : price + 0.05;
          ticks.push({ symbolId: symbolIds[published % symbolIds.length]!, ltp: price, volume: 1, bidSize: monotonicMicros() });
          published++;
        }
        await market.ingest(ticks);
        if (ratePerSecond > 0) {
          const due = started + (published / ratePerSecond) * 1000;
          const wait = due - performance.now();
          if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
          else await yieldToIo();
        } else {
          // Yield every batch so the streams' sockets get written: "as fast
          // as it can" means as fast as the process can publish AND deliver.
          await yieldToIo();
        }
      }
      return { published, elapsedMs: performance.now() - started };
    },
    memory() {
      for (let i = 0; i < 3; i++) globalThis.gc?.();
      const usage = process.memoryUsage();
      return { rss: usage.rss, heapUsed: usage.heapUsed, external: usage.external, arrayBuffers: usage.arrayBuffers };
    },
  };
}

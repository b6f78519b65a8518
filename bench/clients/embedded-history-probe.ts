// Runs one candidate for the embedded history default under one workload:
// sustained appends (ticks/s, and the event-loop delay a live stream in this
// process would see meanwhile), then a full day of 1-minute bars and pages
// of 1,000 ticks read back. Each candidate runs in a process of its own.
import { monitorEventLoopDelay } from "node:perf_hooks";
import { Worker } from "node:worker_threads";
import { MemoryHistoryStore } from "../../src/market/memory-history.js";
import type { TickRecord } from "../../src/market/history-store.js";
import { serveParent } from "../lib/child.js";
import type { PgliteRequest } from "../lib/pglite-history-worker.js";
import { summarize, type LatencySummary } from "../lib/stats.js";

/** EmbeddedCandidate names what is measured. */
export type EmbeddedCandidate = "memory" | "pglite";

/** EmbeddedHistoryFigures are one candidate's figures. */
export interface EmbeddedHistoryFigures {
  candidate: EmbeddedCandidate;
  ticksPerSecond: number;
  /** Event-loop delay of this process's main thread while appending. */
  loopDelayP99Ms: number;
  dayOf1mBars: LatencySummary;
  ticksPage1000: LatencySummary;
  rssMiB: number;
}

interface Candidate {
  append(records: readonly TickRecord[]): Promise<void>;
  dayOfBars(symbolId: number, startMs: number): Promise<number>;
  ticksPage(symbolId: number, startMs: number): Promise<number>;
  close(): Promise<void>;
}

const DAY_MS = 86_400_000;

function memoryCandidate(): Candidate {
  // A window large enough to hold the whole workload, so that both
  // candidates answer the same queries with the same rows.
  const store = new MemoryHistoryStore({ ticksPerSymbol: 1_000_000, days: 2 });
  return {
    append: (records) => store.append(records),
    dayOfBars: async (symbolId, startMs) =>
      (await store.candles({ symbolId, interval: "1m", startMs, endMs: startMs + DAY_MS, limit: 5_000 })).length,
    ticksPage: async (symbolId, startMs) => (await store.ticks({ symbolId, startMs, endMs: startMs + DAY_MS, limit: 1_000 })).length,
    close: () => store.close(),
  };
}

async function pgliteCandidate(): Promise<Candidate> {
  const worker = new Worker(new URL("../lib/pglite-history-worker.ts", import.meta.url));
  const pending = new Map<number, (rows: number) => void>();
  const ready = new Promise<void>((resolve) => pending.set(0, () => resolve()));
  worker.on("message", (reply: { id: number; rows: number }) => {
    pending.get(reply.id)?.(reply.rows);
    pending.delete(reply.id);
  });
  await ready;
  let next = 1;
  // Omit over a union would keep only the fields every member shares.
  const call = (request: PgliteRequest extends infer R ? (R extends { id: number } ? Omit<R, "id"> : never) : never) =>
    new Promise<number>((resolve) => {
      const id = next++;
      pending.set(id, resolve);
      worker.postMessage({ ...request, id });
    });
  return {
    append: async (records) => {
      const columns: [number[], number[], number[], number[], number[]] = [[], [], [], [], []];
      for (const r of records) {
        columns[0].push(r.symbolId);
        columns[1].push(r.sequence);
        columns[2].push(r.timeMs);
        columns[3].push(r.price);
        columns[4].push(r.quantity);
      }
      await call({ op: "append", columns });
    },
    dayOfBars: (symbolId, startMs) => call({ op: "candles", symbolId, startMs, endMs: startMs + DAY_MS, limit: 5_000 }),
    ticksPage: (symbolId, startMs) => call({ op: "ticks", symbolId, startMs, endMs: startMs + DAY_MS, limit: 1_000 }),
    close: async () => {
      await worker.terminate();
    },
  };
}

// Ticks of `symbols` symbols spread evenly over one UTC day, sequences per symbol.
function workload(totalTicks: number, symbols: number, dayStartMs: number): TickRecord[] {
  const records = new Array<TickRecord>(totalTicks);
  const sequences = new Array<number>(symbols).fill(0);
  for (let i = 0; i < totalTicks; i++) {
    const symbolId = 1 + (i % symbols);
    const price = 100 + ((i * 7) % 13) / 10;
    records[i] = {
      symbolId,
      sequence: ++sequences[symbolId - 1]!,
      timeMs: dayStartMs + Math.floor((i / totalTicks) * DAY_MS),
      price,
      quantity: 1 + (i % 5),
      bid: price - 0.05,
      ask: price + 0.05,
      bidSize: 10,
      askSize: 10,
    };
  }
  return records;
}

serveParent(
  {},
  {
    run: async (message) => {
      const candidate = message.candidate as EmbeddedCandidate;
      const totalTicks = message.ticks as number;
      const batchSize = message.batchSize as number;
      const queries = message.queries as number;
      const dayStartMs = Date.UTC(2026, 0, 5);
      const records = workload(totalTicks, 50, dayStartMs);
      const store = candidate === "memory" ? memoryCandidate() : await pgliteCandidate();
      try {
        const delay = monitorEventLoopDelay({ resolution: 1 });
        delay.enable();
        const started = performance.now();
        for (let i = 0; i < records.length; i += batchSize) await store.append(records.slice(i, i + batchSize));
        const seconds = (performance.now() - started) / 1000;
        delay.disable();
        const bars: number[] = [];
        const pages: number[] = [];
        for (let q = 0; q < queries; q++) {
          let t = performance.now();
          const barCount = await store.dayOfBars(1 + (q % 50), dayStartMs);
          bars.push(performance.now() - t);
          t = performance.now();
          const tickCount = await store.ticksPage(1 + (q % 50), dayStartMs);
          pages.push(performance.now() - t);
          if (barCount !== 1_440 || tickCount !== 1_000) throw new Error(`${candidate}: ${barCount} bars and ${tickCount} ticks, expected 1440 and 1000`);
        }
        const figures: EmbeddedHistoryFigures = {
          candidate,
          ticksPerSecond: Math.round(totalTicks / seconds),
          loopDelayP99Ms: Math.round(delay.percentile(99) / 1e4) / 100,
          dayOf1mBars: summarize(bars),
          ticksPage1000: summarize(pages),
          rssMiB: Math.round(process.memoryUsage().rss / 2 ** 20),
        };
        return { figures };
      } finally {
        await store.close();
      }
    },
  },
);

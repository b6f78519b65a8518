import assert from "node:assert/strict";
import { PassThrough } from "node:stream";
import { after, before, describe, it } from "node:test";
import { stripVTControlCharacters } from "node:util";
import { createProgram } from "../../packages/cli/src/program.js";
import { startGateway, type TestGateway } from "../support/gateway.js";
import { waitFor } from "../support/transports.js";

interface Result {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs the command in this process, as main.ts does, capturing its output. */
function inProcess(args: string[], { tty = false } = {}) {
  const stdout = Object.assign(new PassThrough(), { isTTY: tty });
  const stderr = new PassThrough();
  const result: Result = { code: 0, stdout: "", stderr: "" };
  stdout.on("data", (chunk: Buffer) => (result.stdout += chunk.toString()));
  stderr.on("data", (chunk: Buffer) => (result.stderr += chunk.toString()));
  const interrupt = new AbortController();
  const program = createProgram({ stdout, stderr, env: {}, interrupt: interrupt.signal, setExitCode: (code) => (result.code = code) });
  const done = program.parseAsync(["node", "stockify", ...args]).then(
    () => result,
    (error: unknown) => {
      result.code = 1;
      result.stderr += `stockify: ${error instanceof Error ? error.message : String(error)}\n`;
      return result;
    },
  );
  return { result, done, interrupt };
}

const MINUTE = 60_000;
const iso = (ms: number) => new Date(ms).toISOString();
const clean = (text: string) => stripVTControlCharacters(text).trimEnd().split("\n");

describe("stockify candles", () => {
  let gateway: TestGateway;
  // Two whole minutes that ended before the test began.
  const first = Math.floor(Date.now() / MINUTE) * MINUTE - 3 * MINUTE;
  const second = first + MINUTE;
  before(async () => {
    gateway = await startGateway({ HISTORY_ACK: "durable" });
    const ticks = [
      { ltp: 52100, volume: 1200, at: first + 5_000 },
      { ltp: 52180.5, volume: 300, at: first + 25_000 },
      { ltp: 52050.25, volume: 100, at: first + 45_000 },
      { ltp: 52120, volume: 400, at: first + 55_000 },
      { ltp: 52110, volume: 50, at: second + 1_000 },
    ];
    for (const { ltp, volume, at } of ticks) await gateway.app.market.ingest([{ symbolId: 25, ltp, volume, exchangeTimeMs: at }]);
  });
  after(async () => gateway?.close());
  const stockify = (args: string[]) => inProcess(["--url", gateway.baseUrl, ...args]).done;

  it("prints the bars of a range as a table: time, open, high, low, close, volume and ticks", async () => {
    const result = await stockify(["candles", "25", "--interval", "1m", "--from", iso(first), "--to", iso(second + MINUTE)]);
    assert.equal(result.code, 0, result.stderr);
    const time = (ms: number) => iso(ms).slice(0, 19).replace("T", " ");
    assert.deepEqual(clean(result.stdout), [
      "Time (UTC)                   Open          High           Low         Close          Volume     Ticks",
      `${time(first)}     52,100.00     52,180.50     52,050.25     52,120.00           2,000         4`,
      `${time(second)}     52,110.00     52,110.00     52,110.00     52,110.00              50         1`,
    ]);
  });

  it("prints today's bars by default, and proto3 JSON lines with --json after the command", async () => {
    const today = await stockify(["candles", "25"]);
    assert.equal(today.code, 0, today.stderr);
    // The two bars above and the seed's (unless the day began minutes ago).
    if (first >= Date.now() - (Date.now() % 86_400_000)) assert.ok(clean(today.stdout).length >= 3, today.stdout);
    const json = await stockify(["candles", "25", "--interval", "1m", "--from", iso(first), "--to", iso(second + MINUTE), "--json"]);
    assert.equal(json.code, 0, json.stderr);
    const bars = json.stdout.trim().split("\n").map((line) => JSON.parse(line));
    assert.equal(bars.reduce((sum, bar) => sum + Number(bar.volume), 0), 2050);
    assert.deepEqual(Object.keys(bars[0]), ["symbolId", "interval", "startTime", "open", "high", "low", "close", "volume", "tickCount"]);
    assert.equal(bars[0].interval, "1m");
  });

  it("says so on stderr when a range holds no bars", async () => {
    const result = await stockify(["candles", "27", "--from", iso(first - 60 * MINUTE), "--to", iso(first - 30 * MINUTE)]);
    assert.equal(result.code, 0, result.stderr);
    assert.equal(clean(result.stdout).length, 1);
    assert.equal(result.stderr, "no 1m bars for symbol 27 in this range\n");
  });

  it("--follow prints the recent bars, then each change of the bar in progress", async () => {
    const { result, done, interrupt } = inProcess(["--url", gateway.baseUrl, "candles", "25", "--follow", "--from", iso(first), "--json"]);
    try {
      await waitFor(() => result.stdout.split("\n").length > 2, 10_000, "the recent bars");
      await gateway.app.market.ingest([{ symbolId: 25, ltp: 52200, volume: 7 }]);
      await waitFor(() => result.stdout.includes("52200"), 10_000, "the change of the bar in progress");
    } finally {
      interrupt.abort();
      await done;
    }
    assert.equal(result.code, 0, result.stderr);
    const bars = result.stdout.trim().split("\n").map((line) => JSON.parse(line));
    assert.equal(Date.parse(bars[0].startTime), first);
    assert.equal(bars.at(-1).close, 52200);

    const table = await stockify(["candles", "25", "--follow", "--from", iso(first), "--limit", "2"]);
    assert.equal(table.code, 0, table.stderr);
    const lines = clean(table.stdout);
    assert.match(lines[0]!, /^Time \(UTC\) +Open +High +Low +Close +Volume +Ticks$/);
    assert.equal(lines.length, 3);
    assert.match(lines[1]!, /52,100\.00 +52,180\.50 +52,050\.25 +52,120\.00 +2,000 +4$/);
  });

  it("--follow in a terminal rewrites the bar in progress in place and starts a line for each new bar", async () => {
    const { result, done, interrupt } = inProcess(["--url", gateway.baseUrl, "candles", "27", "--follow"], { tty: true });
    try {
      await waitFor(() => result.stdout.includes("23,850.00"), 10_000, "the seed's bar");
      // The seed's minute, whenever the gateway started.
      const seeded = (await gateway.app.market.get(27))!.exchangeTimeMs;
      const minute = seeded - (seeded % MINUTE);
      await gateway.app.market.ingest([{ symbolId: 27, ltp: 23860, volume: 1, exchangeTimeMs: Math.max(seeded, minute + 59_000) }]);
      await waitFor(() => result.stdout.includes("23,860.00"), 10_000, "the change");
      await gateway.app.market.ingest([{ symbolId: 27, ltp: 23870, volume: 1, exchangeTimeMs: minute + MINUTE + 1_000 }]);
      await waitFor(() => result.stdout.includes("23,870.00"), 10_000, "the new bar");
    } finally {
      interrupt.abort();
      await done;
    }
    assert.equal(result.code, 0, result.stderr);
    const text = stripVTControlCharacters(result.stdout);
    // The change replaced the seed's line; the new bar began a line of its own.
    assert.match(text, /23,850\.00 +10 +1\r.*23,860\.00 +11 +2\n.*23,870\.00 +1 +1\n$/);
  });

  it("rejects an unknown interval, a time that is not ISO 8601, --to with --follow, and an unknown symbol", async () => {
    const interval = await stockify(["candles", "25", "--interval", "2m"]);
    assert.equal(interval.code, 1);
    assert.match(interval.stderr, /argument '2m' is invalid\. Allowed choices are 1s, 1m, 5m, 15m, 1h, 1d/);
    const time = await stockify(["candles", "25", "--from", "yesterday"]);
    assert.equal(time.code, 1);
    assert.match(time.stderr, /expected an ISO 8601 time/);
    const both = await stockify(["candles", "25", "--follow", "--to", iso(second)]);
    assert.equal(both.code, 1);
    assert.match(both.stderr, /cannot be used with option '--follow'/);
    const unknown = await stockify(["candles", "999"]);
    assert.equal(unknown.code, 1);
    assert.match(unknown.stderr, /\[not_found\] unknown symbol: 999/);
  });
});

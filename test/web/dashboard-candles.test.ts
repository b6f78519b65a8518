import assert from "node:assert/strict";
import { mkdir } from "node:fs/promises";
import { after, before, describe, it } from "node:test";
import { chromium, type Browser, type Page } from "playwright-core";
import { crashable } from "../support/crash.js";
import { startGateway, type TestGateway } from "../support/gateway.js";
import { requireTool } from "../support/required-tool.js";

const MINUTE = 60_000;

/** The chart's drawing, as the page leaves it on the canvas. */
function chartState(page: Page) {
  return page.evaluate(() => {
    const canvas = document.querySelector<HTMLCanvasElement>("#chart")!;
    return { bars: Number(canvas.dataset.barCount ?? "0"), lastClose: canvas.dataset.lastClose ?? "", priceTicks: canvas.dataset.priceTicks ?? "" };
  });
}

function waitForBars(page: Page, count: number, timeoutMs = 10_000) {
  return page.waitForFunction((n) => document.querySelector<HTMLCanvasElement>("#chart")?.dataset.barCount === String(n), count, { timeout: timeoutMs });
}

/**
 * How long the chart may take to come back after a restart: the feed's
 * retries back off to 5 s apart while the gateway is down, so on a loaded
 * machine, where the restart itself takes seconds, one more wait of up to
 * 5 s can follow it.
 */
const AFTER_RESTART_MS = 20_000;

describe("dashboard candle chart in Chromium", () => {
  let browser: Browser;
  before(async () => {
    requireTool("/usr/bin/chromium", "chromium");
    browser = await chromium.launch({ executablePath: "/usr/bin/chromium", headless: true, args: ["--no-sandbox"] });
  });
  after(async () => browser?.close());

  describe("with history", () => {
    let gateway: TestGateway;
    let restarted: TestGateway | undefined;
    let crash: () => Promise<void>;
    const first = Math.floor(Date.now() / MINUTE) * MINUTE - 3 * MINUTE;
    before(async () => {
      gateway = await startGateway({ HISTORY_ACK: "durable" });
      crash = crashable(gateway).crash;
      const ticks = [
        { ltp: 24300, at: first + 1_000 },
        { ltp: 24390, at: first + 30_000 },
        { ltp: 24280, at: first + 50_000 },
        { ltp: 24310, at: first + MINUTE + 5_000 },
      ];
      for (const { ltp, at } of ticks) await gateway.app.market.ingest([{ symbolId: 13, ltp, volume: 1, exchangeTimeMs: at }]);
    });
    after(async () => {
      await restarted?.close();
      await gateway?.close();
    });

    it("opens on today's 1m bars from GetCandles, grows as ticks arrive, reloads for another symbol, and recovers after a gateway restart", async () => {
      const page = await browser.newPage({ viewport: { width: 1000, height: 700 } });
      const errors: string[] = [];
      page.on("pageerror", (error) => errors.push(error.message));
      const reads: Array<{ symbolId: number; candles: number }> = [];
      page.on("response", async (response) => {
        if (!response.url().endsWith("/stockify.v1.MarketHistoryService/GetCandles")) return;
        const request = JSON.parse(response.request().postData() ?? "{}");
        const body = await response.json();
        reads.push({ symbolId: request.symbolId, candles: (body.candles ?? []).length });
      });
      try {
        await page.goto(`${gateway.baseUrl}/`);
        // Two bars written before the page opened, and the seed's.
        await waitForBars(page, 3);
        assert.deepEqual(reads, [{ symbolId: 13, candles: 3 }]);
        const opened = await chartState(page);
        assert.match(opened.priceTicks, /24,2\d\d\.\d\d .*24,3\d\d\.\d\d/, "the axis spans the bars' lows and highs");

        // A tick in the next minute starts a new bar; another changes it.
        const next = Math.floor(Date.now() / MINUTE) * MINUTE + MINUTE + 1_000;
        await gateway.app.market.ingest([{ symbolId: 13, ltp: 24400, volume: 1, exchangeTimeMs: next }]);
        await waitForBars(page, 4);
        await gateway.app.market.ingest([{ symbolId: 13, ltp: 24412.5, volume: 1, exchangeTimeMs: next + 1_000 }]);
        await page.waitForFunction(() => document.querySelector<HTMLCanvasElement>("#chart")?.dataset.lastClose === "24412.5", undefined, {
          timeout: 10_000,
        });
        assert.equal((await chartState(page)).bars, 4);
        await mkdir("test-results", { recursive: true });
        await page.screenshot({ path: "test-results/dashboard-candles.png" });

        // Another symbol: its own bars, read again.
        await page.click('tr[data-symbol-id="25"] td[data-field="symbol"]');
        await waitForBars(page, 1);
        assert.deepEqual(reads.at(-1), { symbolId: 25, candles: 1 });
        assert.match(await page.locator("#chart-caption").textContent() ?? "", /BANK NIFTY: today's 1-minute bars/);

        // The gateway dies and comes back on the same port: the chart's
        // stream is reopened and grows again.
        await crash();
        restarted = await startGateway({ HISTORY_ACK: "durable", PORT: String(gateway.port) });
        const later = Math.floor(Date.now() / MINUTE) * MINUTE + 2 * MINUTE;
        await restarted.app.market.ingest([{ symbolId: 25, ltp: 52150, volume: 1, exchangeTimeMs: later }]);
        await waitForBars(page, 2, AFTER_RESTART_MS);
        await restarted.app.market.ingest([{ symbolId: 25, ltp: 52160.5, volume: 1, exchangeTimeMs: later + 1_000 }]);
        await page.waitForFunction(() => document.querySelector<HTMLCanvasElement>("#chart")?.dataset.lastClose === "52160.5", undefined, {
          timeout: 15_000,
        });
        assert.deepEqual(errors, []);
      } finally {
        await page.close();
      }
    });
  });

  describe("without history", () => {
    let gateway: TestGateway;
    before(async () => {
      gateway = await startGateway({ HISTORY: "off" });
    });
    after(async () => gateway?.close());

    it("keeps working: the chart draws bars from the live prices the page sees", async () => {
      const page = await browser.newPage({ viewport: { width: 1000, height: 700 } });
      const errors: string[] = [];
      page.on("pageerror", (error) => errors.push(error.message));
      try {
        await page.goto(`${gateway.baseUrl}/`);
        await page.waitForSelector("#status[data-state='live']");
        await waitForBars(page, 1);
        await gateway.app.market.ingest([{ symbolId: 13, ltp: 24366 }]);
        await page.waitForFunction(() => document.querySelector<HTMLCanvasElement>("#chart")?.dataset.lastClose === "24366", undefined, {
          timeout: 10_000,
        });
        assert.match(await page.locator("#chart-caption").textContent() ?? "", /since this page opened/);
        assert.deepEqual(errors, []);
      } finally {
        await page.close();
      }
    });
  });
});

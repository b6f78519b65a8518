import assert from "node:assert/strict";
import { mkdir } from "node:fs/promises";
import { after, before, describe, it } from "node:test";
import { chromium, type Browser, type Page } from "playwright-core";
import { crashable } from "../support/crash.js";
import { SEED_TICKS, startGateway, type TestGateway } from "../support/gateway.js";
import { waitFor } from "../support/transports.js";
import { requireTool } from "../support/required-tool.js";

const SEED = [...SEED_TICKS, { symbolId: 42, symbol: "TEST CO", ltp: 100 }];

const ltpCell = (symbolId: number) => `tr[data-symbol-id="${symbolId}"] [data-field="ltp"]`;

async function ltpOf(page: Page, symbolId: number): Promise<number | undefined> {
  const value = await page.locator(ltpCell(symbolId)).getAttribute("data-value", { timeout: 5000 });
  return value === null ? undefined : Number(value);
}

describe("browser dashboard in Chromium", () => {
  let gateway: TestGateway;
  let restarted: TestGateway | undefined;
  let crash: () => Promise<void>;
  let browser: Browser;
  before(async () => {
    gateway = await startGateway({}, { seed: SEED });
    crash = crashable(gateway).crash;
    requireTool("/usr/bin/chromium", "chromium");
    browser = await chromium.launch({ executablePath: "/usr/bin/chromium", headless: true, args: ["--no-sandbox"] });
  });
  after(async () => {
    await browser?.close();
    await restarted?.close();
    await gateway?.close();
  });

  it("asks for quotes at four updates a second per row, a rate a person can read", async () => {
    const page = await browser.newPage();
    const bodies: Buffer[] = [];
    page.on("request", (request) => {
      if (request.url().endsWith("/stockify.v1.MarketDataService/SubscribeSnapshots")) bodies.push(request.postDataBuffer()!);
    });
    await page.goto(`${gateway.baseUrl}/`);
    await page.waitForSelector("#status[data-state='live']");
    assert.equal(bodies.length, 1);
    // A Connect streaming request: a five-byte envelope, then the JSON message.
    assert.deepEqual(JSON.parse(bodies[0]!.subarray(5).toString()), {
      symbolIds: [13, 25, 27],
      mode: "SNAPSHOT_MODE_QUOTE",
      maxUpdatesPerSecond: 4,
    });
    await page.close();
  });

  for (const viewport of [
    { width: 1280, height: 800 },
    { width: 390, height: 844 },
  ]) {
    it(`lays out for a desk at ${viewport.width} px: every column read at a glance in view, a chart with price and time axes filling the page`, async () => {
      const page = await browser.newPage({ viewport });
      const failed: string[] = [];
      page.on("response", (response) => {
        if (response.status() >= 400) failed.push(`${response.status()} ${response.url()}`);
      });
      const ticker = setInterval(() => void gateway.app.market.ingest([{ symbolId: 13, ltp: 24350 + Math.round(Math.random() * 400) / 100 }]), 50);
      try {
        await page.goto(`${gateway.baseUrl}/`);
        await page.waitForSelector("#status[data-state='live']");
        await page.waitForFunction(() => (document.querySelector<HTMLCanvasElement>("#chart")?.dataset.timeTicks ?? "").length > 0, undefined, { timeout: 10_000 });
        await page.waitForTimeout(1500);

        // Nothing spills sideways, and bid and ask sit inside the screen.
        assert.ok(await page.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth), "no horizontal scrolling");
        for (const field of ["symbol", "ltp", "changePercent", "bid", "ask"]) {
          const box = await page.locator(`tr[data-symbol-id="13"] [data-field="${field}"]`).boundingBox();
          assert.ok(box !== null && box.width > 0, `${field} is shown`);
          assert.ok(box.x >= 0 && box.x + box.width <= viewport.width, `${field} is within the screen (${box.x}+${box.width})`);
        }

        // The chart is drawn at its own size (labels unsquashed), fills the
        // page to its bottom, and labels both axes.
        const chart = await page.evaluate(() => {
          const canvas = document.querySelector<HTMLCanvasElement>("#chart")!;
          const box = canvas.getBoundingClientRect();
          return {
            backing: canvas.width / devicePixelRatio,
            shown: box.width,
            bottom: box.bottom,
            priceTicks: canvas.dataset.priceTicks ?? "",
            timeTicks: canvas.dataset.timeTicks ?? "",
          };
        });
        assert.ok(Math.abs(chart.backing - chart.shown) <= 1, `canvas drawn at ${chart.backing} px for a ${chart.shown} px box`);
        assert.ok(chart.bottom > viewport.height * 0.75, `the chart reaches down to ${chart.bottom} of ${viewport.height}`);
        assert.match(chart.priceTicks, /^24,3\d\d\.\d\d( 24,3\d\d\.\d\d)+$/);
        assert.match(chart.timeTicks, /^\d\d:\d\d:\d\d( \d\d:\d\d:\d\d)*$/);

        // Styled controls, not the browser's defaults.
        const button = await page.locator("#add-symbol").evaluate((element) => getComputedStyle(element).borderRadius);
        assert.notEqual(button, "0px");

        // Links to the API reference and the metrics, which answer.
        for (const [name, path] of [
          ["API docs", "/docs"],
          ["Metrics", "/metrics"],
        ] as const) {
          assert.equal(await page.getByRole("link", { name }).getAttribute("href"), path);
          assert.equal((await fetch(`${gateway.baseUrl}${path}`)).status, 200);
        }

        await mkdir("test-results", { recursive: true });
        await page.screenshot({ path: `test-results/dashboard-${viewport.width}.png` });
        // The page, its script and its icon: nothing it asked for failed.
        assert.deepEqual(failed, []);
      } finally {
        clearInterval(ticker);
        await page.close();
        // The next test starts from the seeded price.
        await gateway.app.market.ingest([{ symbolId: 13, ltp: 24350 }]);
      }
    });
  }

  it("shows live prices, adds and removes symbols, and reconnects after a gateway restart", async () => {
    const page = await browser.newPage({ viewport: { width: 1000, height: 700 } });
    const errors: string[] = [];
    page.on("pageerror", (error) => errors.push(error.message));
    await page.goto(`${gateway.baseUrl}/`);

    await page.waitForFunction((selector) => document.querySelector(selector)?.getAttribute("data-value") === "24350", ltpCell(13));
    assert.equal(await page.locator(ltpCell(13)).textContent(), "24,350.00");
    assert.deepEqual(
      await page.locator("tbody tr").evaluateAll((rows) => rows.map((row) => row.getAttribute("data-symbol-id"))),
      ["13", "25", "27"],
    );

    // Prices for 13 change as ticks arrive.
    for (const ltp of [24360.5, 24355.25, 24371]) {
      await gateway.app.market.ingest([{ symbolId: 13, ltp }]);
      await page.waitForFunction(
        ([selector, expected]) => document.querySelector(selector!)?.getAttribute("data-value") === expected,
        [ltpCell(13), String(ltp)],
      );
    }
    assert.equal(await page.locator('tr[data-symbol-id="13"] [data-field="change"]').getAttribute("data-direction"), "up");
    await page.waitForSelector("#status[data-state='live']");

    // Add a symbol from the picker.
    await page.selectOption("#symbol-select", "42");
    await page.click("#add-symbol");
    await page.waitForFunction((selector) => document.querySelector(selector)?.getAttribute("data-value") === "100", ltpCell(42));
    await waitFor(() => gateway.app.market.hub.subscriberCount(42) === 1, 5000, "a stream subscribed to 42");
    await gateway.app.market.ingest([{ symbolId: 42, ltp: 101.5 }]);
    await page.waitForFunction((selector) => document.querySelector(selector)?.getAttribute("data-value") === "101.5", ltpCell(42));

    // Remove one: its row goes and the gateway stops streaming it.
    await page.click('tr[data-symbol-id="25"] button[data-action="remove"]');
    await page.waitForSelector('tr[data-symbol-id="25"]', { state: "detached" });
    await waitFor(() => gateway.app.market.hub.subscriberCount(25) === 0, 5000, "the stream of 25 to end");
    assert.equal(gateway.app.market.hub.subscriberCount(13), 1, "one stream, not one per change");
    assert.equal(await ltpOf(page, 27), 23850);

    // The chart has drawn the price history of the first row.
    const inked = await page.evaluate(() => {
      const canvas = document.querySelector<HTMLCanvasElement>("#chart")!;
      const pixels = canvas.getContext("2d")!.getImageData(0, 0, canvas.width, canvas.height).data;
      let count = 0;
      for (let i = 3; i < pixels.length; i += 4) if (pixels[i]! > 0) count++;
      return count;
    });
    assert.ok(inked > 100, `the chart drew a line (${inked} pixels)`);

    await mkdir("test-results", { recursive: true });
    await page.screenshot({ path: "test-results/dashboard.png", fullPage: true });

    // The gateway dies and comes back on the same port: the page reconnects
    // with the symbols it shows.
    await crash();
    await page.waitForSelector("#status[data-state='reconnecting']");
    restarted = await startGateway({ PORT: String(gateway.port) }, { seed: SEED });
    await waitFor(() => restarted!.app.market.hub.subscriberCount(27) === 1, 15_000, "the page to subscribe again");
    assert.equal(restarted.app.market.hub.subscriberCount(25), 0, "a removed symbol stays removed");
    await restarted.app.market.ingest([{ symbolId: 27, ltp: 23900.25 }]);
    await page.waitForFunction((selector) => document.querySelector(selector)?.getAttribute("data-value") === "23900.25", ltpCell(27));
    await page.waitForSelector("#status[data-state='live']");
    assert.deepEqual(errors, []);
    await page.close();
  });
});

import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { chromium, type Browser } from "playwright-core";
import { startGateway, type TestGateway } from "../support/gateway.js";
import { waitFor } from "../support/transports.js";

describe("REST in Chromium", () => {
  let gateway: TestGateway;
  let browser: Browser;
  before(async () => {
    gateway = await startGateway();
    browser = await chromium.launch({ executablePath: "/usr/bin/chromium", headless: true, args: ["--no-sandbox"] });
  });
  after(async () => {
    await browser?.close();
    await gateway?.close();
  });

  it("streams live prices to a browser EventSource and lets go when the page closes", async () => {
    const page = await browser.newPage();
    await page.goto(`${gateway.baseUrl}/openapi.json`);
    await page.evaluate(() => {
      const received: unknown[] = [];
      (window as unknown as { received: unknown[] }).received = received;
      const source = new EventSource("/v1/snapshots:stream?symbol_ids=13&symbol_ids=25");
      source.onmessage = (event) => received.push(JSON.parse(event.data as string));
    });
    const received = () =>
      page.evaluate(() => (window as unknown as { received: Array<{ snapshot?: { symbolId: number; ltp: number } }> }).received);
    await page.waitForFunction(() => (window as unknown as { received: unknown[] }).received.length >= 2);
    assert.deepEqual((await received()).map((e) => e.snapshot?.symbolId).sort(), [13, 25]);

    await gateway.app.market.ingest([{ symbolId: 25, ltp: 52345.5 }]);
    await page.waitForFunction(() =>
      (window as unknown as { received: Array<{ snapshot?: { ltp: number } }> }).received.some((e) => e.snapshot?.ltp === 52345.5),
    );
    assert.equal(gateway.app.market.hub.subscriptionCount, 2);
    await page.close();
    await waitFor(() => gateway.app.market.hub.subscriptionCount === 0, 5000, "the subscription released");
  });

  it("renders the API reference page from /openapi.json", async () => {
    const page = await browser.newPage();
    const errors: string[] = [];
    page.on("pageerror", (error) => errors.push(error.message));
    await page.goto(`${gateway.baseUrl}/docs`);
    // The operation summaries come from the proto comments via the document.
    await page.getByText("GetSnapshot returns the current snapshot of one symbol.").first().waitFor({ timeout: 20_000 });
    await page.getByText("/v1/snapshots:stream").first().waitFor({ timeout: 20_000 });
    assert.deepEqual(errors, []);
    await page.close();
  });

  it("serves a self-contained reference page: nothing fetched beyond loopback, no hosted-service buttons", async () => {
    // A browser whose network ends at loopback: other hosts do not resolve.
    const offline = await chromium.launch({
      executablePath: "/usr/bin/chromium",
      headless: true,
      args: ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1"],
    });
    try {
      const page = await offline.newPage();
      const outside: string[] = [];
      page.on("request", (request) => {
        const { protocol, hostname } = new URL(request.url());
        if (!(protocol === "data:" || protocol === "blob:" || hostname === "127.0.0.1")) outside.push(request.url());
      });
      await page.goto(`${gateway.baseUrl}/docs`);
      await page.getByText("Get snapshot").first().waitFor({ timeout: 20_000 });
      await page.getByText("/v1/snapshots:stream").first().waitFor({ timeout: 20_000 });
      // Fonts are the late requests: by the time the page's fonts are
      // ready, any it wanted from another host has been asked for.
      await page.evaluate(() => document.fonts.ready.then(() => undefined));
      assert.deepEqual(outside, []);
      const text = (await page.locator("body").textContent()) ?? "";
      for (const hosted of ["Ask AI", "Generate MCP", "Deploy", "Share", "Developer Tools"]) {
        assert.ok(!text.includes(hosted), `the page offers "${hosted}"`);
      }
      await page.close();
    } finally {
      await offline.close();
    }
  });
});

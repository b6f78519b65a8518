import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import type { Interceptor } from "@connectrpc/connect";
import { chromium, type Browser, type Page } from "playwright-core";
import { SEED_TICKS, startGateway, type TestGateway } from "../support/gateway.js";
import { waitFor } from "../support/transports.js";

interface Received {
  id: string;
  snapshot?: { symbolId: number; sequence: string; ltp: number };
}

describe("SSE resume in Chromium", () => {
  const gateways: TestGateway[] = [];
  let browser: Browser;
  before(async () => {
    browser = await chromium.launch({
      executablePath: "/usr/bin/chromium",
      headless: true,
      args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"],
    });
  });
  after(async () => {
    await browser?.close();
    for (const gateway of gateways) await gateway.close();
  });

  const received = (page: Page) => page.evaluate(() => (window as unknown as { received: Received[] }).received);

  it("lets a real EventSource resume across a gateway restart, without a gap it cannot see", async () => {
    const first = await startGateway();
    gateways.push(first);
    const page = await browser.newPage();
    await page.goto(`${first.baseUrl}/openapi.json`);
    await page.evaluate(() => {
      const received: Received[] = [];
      (window as unknown as { received: Received[] }).received = received;
      const source = new EventSource("/v1/snapshots:stream?symbol_ids=13&symbol_ids=25");
      source.onmessage = (event) => received.push({ id: event.lastEventId, ...JSON.parse(event.data as string) });
    });
    await page.waitForFunction(() => (window as unknown as { received: Received[] }).received.length >= 2);
    await first.app.market.ingest([{ symbolId: 13, ltp: 24360 }]);
    await page.waitForFunction(() => (window as unknown as { received: Received[] }).received.some((e) => e.id === "13.2"));
    const countBefore = (await received(page)).length;
    const lastSeen = (await received(page)).at(-1)!;
    assert.equal(lastSeen.id, `13.2`);

    // The gateway restarts on the same port; its store comes back as the
    // other replica's would: 13 where the page left it, 25 moved on.
    await first.close();
    gateways.splice(0);
    const lastEventIds: string[] = [];
    const recordLastEventId: Interceptor = (next) => (req) => {
      lastEventIds.push(req.header.get("last-event-id") ?? "(none)");
      return next(req);
    };
    const second = await startGateway(
      { PORT: String(first.port) },
      { interceptors: [recordLastEventId], seed: [...SEED_TICKS, { symbolId: 13, ltp: 24360 }, { symbolId: 25, ltp: 52200 }] },
    );
    gateways.push(second);

    await page.waitForFunction(
      () => (window as unknown as { received: Received[] }).received.some((e) => e.snapshot?.symbolId === 25 && e.snapshot.ltp === 52200),
      undefined,
      { timeout: 15_000 },
    );
    assert.deepEqual(lastEventIds, ["13.2"]);
    await second.app.market.ingest([{ symbolId: 13, ltp: 24370 }]);
    await page.waitForFunction(() => (window as unknown as { received: Received[] }).received.some((e) => e.id === "13.3"));
    const resumed = (await received(page)).slice(countBefore);
    // 25 moved while the page was away, so it came again; 13 had not, so it
    // came only with its next update.
    assert.deepEqual(
      resumed.map((e) => e.id),
      ["25.2", "13.3"],
    );
    assert.equal(resumed[1]!.snapshot?.ltp, 24370);
    await page.close();
    await waitFor(() => second.app.market.hub.subscriptionCount === 0, 5000, "the subscription released");
  });
});

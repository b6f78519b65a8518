import assert from "node:assert/strict";
import * as http from "node:http";
import type { AddressInfo } from "node:net";
import { readFile } from "node:fs/promises";
import { after, before, describe, it } from "node:test";
import { chromium, type Browser } from "playwright-core";
import { bundleDashboard, WEB_DIR } from "../../src/dashboard/dashboard-bundle.js";
import { startGateway, type TestGateway } from "../support/gateway.js";
import { requireTool } from "../support/required-tool.js";

/** A static host for the built dashboard, as `npm run build`'s output would be served elsewhere. */
async function hostDashboard(): Promise<{ origin: string; close(): Promise<void> }> {
  const files: Record<string, [string, string]> = {
    "/": ["text/html", await readFile(`${WEB_DIR}index.html`, "utf8")],
    "/dashboard.js": ["text/javascript", await bundleDashboard()],
  };
  const server = http.createServer((req, res) => {
    const file = files[new URL(req.url ?? "/", "http://x").pathname];
    if (file === undefined) res.writeHead(404).end();
    else res.writeHead(200, { "content-type": file[0] }).end(file[1]);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    // localhost and 127.0.0.1 are different origins to the browser.
    origin: `http://localhost:${(server.address() as AddressInfo).port}`,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

describe("browser dashboard from another origin", () => {
  let host: Awaited<ReturnType<typeof hostDashboard>>;
  let gateway: TestGateway;
  let browser: Browser;
  before(async () => {
    host = await hostDashboard();
    gateway = await startGateway({ CORS_ORIGINS: host.origin, AUTH_TOKENS: "dash-token:read" });
    requireTool("/usr/bin/chromium", "chromium");
    browser = await chromium.launch({ executablePath: "/usr/bin/chromium", headless: true, args: ["--no-sandbox"] });
  });
  after(async () => {
    await browser?.close();
    await gateway?.close();
    await host?.close();
  });

  it("streams live prices from a gateway that allows its origin, with a bearer token", async () => {
    const page = await browser.newPage();
    await page.goto(`${host.origin}/?gateway=${encodeURIComponent(gateway.baseUrl)}&token=dash-token&symbols=13`);
    const cell = 'tr[data-symbol-id="13"] [data-field="ltp"]';
    await page.waitForFunction((selector) => document.querySelector(selector)?.getAttribute("data-value") === "24350", cell);
    await gateway.app.market.ingest([{ symbolId: 13, ltp: 24399.95 }]);
    await page.waitForFunction((selector) => document.querySelector(selector)?.getAttribute("data-value") === "24399.95", cell);
    assert.ok((await page.locator("#symbol-select option").count()) >= 3, "the symbol list came across origins too");
    await page.close();
  });

  it("shows the refusal when the token is wrong", async () => {
    const page = await browser.newPage();
    await page.goto(`${host.origin}/?gateway=${encodeURIComponent(gateway.baseUrl)}&token=wrong&symbols=13`);
    await page.waitForFunction(() => /unauthenticated/.test(document.querySelector("#status")?.textContent ?? ""));
    await page.close();
  });
});

import assert from "node:assert/strict";
import * as http from "node:http";
import type { AddressInfo } from "node:net";
import { after, before, describe, it } from "node:test";
import { chromium, type Browser } from "playwright-core";
import { startGateway, type TestGateway } from "../support/gateway.js";

/** A page server standing for a dashboard hosted elsewhere. */
async function servePage(): Promise<{ origin: string; close(): Promise<void> }> {
  const server = http.createServer((_req, res) => res.writeHead(200, { "content-type": "text/html" }).end("<!doctype html><title>elsewhere</title>"));
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    origin: `http://localhost:${(server.address() as AddressInfo).port}`,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

describe("a browser page from another origin", () => {
  let gateway: TestGateway;
  let browser: Browser;
  let allowed: Awaited<ReturnType<typeof servePage>>;
  let other: Awaited<ReturnType<typeof servePage>>;
  before(async () => {
    [allowed, other] = await Promise.all([servePage(), servePage()]);
    gateway = await startGateway({ CORS_ORIGINS: allowed.origin, AUTH_TOKENS: "dash-token:read" });
    browser = await chromium.launch({ executablePath: "/usr/bin/chromium", headless: true, args: ["--no-sandbox"] });
  });
  after(async () => {
    await browser?.close();
    await gateway?.close();
    await allowed?.close();
    await other?.close();
  });

  /** Calls GetSnapshot with the Connect protocol from a page of `origin`, with a bearer token (so a preflight runs). */
  async function callFrom(origin: string): Promise<{ ok: true; symbol: string; status: number } | { ok: false; error: string }> {
    const page = await browser.newPage();
    try {
      await page.goto(origin);
      return await page.evaluate(async (url) => {
        try {
          const response = await fetch(url, {
            method: "POST",
            headers: { "content-type": "application/json", "connect-protocol-version": "1", authorization: "Bearer dash-token" },
            body: JSON.stringify({ symbolId: 13 }),
          });
          const body = (await response.json()) as { snapshot: { symbol: string } };
          return { ok: true as const, symbol: body.snapshot.symbol, status: response.status };
        } catch (error) {
          return { ok: false as const, error: String(error) };
        }
      }, `${gateway.baseUrl}/stockify.v1.MarketDataService/GetSnapshot`);
    } finally {
      await page.close();
    }
  }

  it("calls the gateway with the Connect protocol and a bearer token when its origin is allowed", async () => {
    const result = await callFrom(allowed.origin);
    assert.deepEqual(result, { ok: true, symbol: "NIFTY 50", status: 200 });
  });

  it("is stopped by the browser when its origin is not allowed", async () => {
    const result = await callFrom(other.origin);
    assert.equal(result.ok, false);
  });
});

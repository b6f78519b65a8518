import assert from "node:assert/strict";
import { after, describe, it } from "node:test";
import { startGateway, type TestGateway } from "../support/gateway.js";

describe("dashboardPlugin", () => {
  const gateways: TestGateway[] = [];
  after(async () => {
    for (const gw of gateways) await gw.close();
  });

  it("serves the page at / and its bundled script", async () => {
    const gw = await startGateway();
    gateways.push(gw);
    const page = await fetch(`${gw.baseUrl}/`);
    assert.equal(page.status, 200);
    assert.match(page.headers.get("content-type") ?? "", /^text\/html/);
    assert.match(await page.text(), /<script type="module" src="dashboard.js">/);
    const script = await fetch(`${gw.baseUrl}/dashboard.js`);
    assert.equal(script.status, 200);
    assert.match(script.headers.get("content-type") ?? "", /^text\/javascript/);
    const text = await script.text();
    assert.ok(text.includes("Connect-Protocol-Version"), "the bundle holds the Connect-Web client");
    assert.ok(text.includes('data-field="ltp"'), "the bundle holds the dashboard");
  });

  it("is off with DASHBOARD=off", async () => {
    const gw = await startGateway({ DASHBOARD: "off" });
    gateways.push(gw);
    assert.equal((await fetch(`${gw.baseUrl}/`)).status, 404);
    assert.equal((await fetch(`${gw.baseUrl}/dashboard.js`)).status, 404);
  });
});

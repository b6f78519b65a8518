import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { SSE_RETRY_MS } from "../../src/rest/sse-resume.js";
import { startGateway, type TestGateway } from "../support/gateway.js";

describe("a REST stream refused for now", () => {
  let gateway: TestGateway;
  before(async () => {
    gateway = await startGateway();
    // Shutting down: every new call is refused with UNAVAILABLE.
    void gateway.app.streamDrain.drain();
  });
  after(() => gateway.close());

  const stream = (accept: string) => fetch(`${gateway.baseUrl}/v1/snapshots:stream?symbol_ids=13`, { headers: { accept } });

  it("reaches an EventSource as a stream that ends with the error, so that it reconnects instead of giving up", async () => {
    const response = await stream("text/event-stream");
    assert.equal(response.status, 200);
    assert.match(String(response.headers.get("content-type")), /^text\/event-stream/);
    const text = await response.text();
    assert.ok(text.startsWith(`retry: ${SSE_RETRY_MS}\n\n`), text);
    const event = /^event: error\ndata: (.*)$/m.exec(text);
    assert.ok(event !== null, text);
    assert.equal(JSON.parse(event[1]!).code, "unavailable");
  });

  it("reaches an NDJSON caller as 503, before any line", async () => {
    const response = await stream("application/x-ndjson");
    assert.equal(response.status, 503);
    assert.equal(((await response.json()) as { code: string }).code, "unavailable");
  });

  it("still answers an unknown symbol over SSE with its final status", async () => {
    const other = await startGateway();
    try {
      const response = await fetch(`${other.baseUrl}/v1/snapshots:stream?symbol_ids=4242`, { headers: { accept: "text/event-stream" } });
      assert.equal(response.status, 404);
    } finally {
      await other.close();
    }
  });
});

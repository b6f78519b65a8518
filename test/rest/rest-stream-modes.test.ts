import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { startGateway, type TestGateway } from "../support/gateway.js";

describe("REST snapshot streams in field modes", () => {
  let gateway: TestGateway;
  before(async () => {
    gateway = await startGateway();
    await gateway.app.market.ingest([
      { symbolId: 13, ltp: 24350.5, depth: { bids: [{ price: 24350.45, quantity: 75, orders: 3 }], asks: [] } },
    ]);
  });
  after(() => gateway.close());

  /** Opens an NDJSON stream and returns the snapshot of its first line. */
  async function firstSnapshot(query: string): Promise<Record<string, unknown>> {
    const abort = new AbortController();
    try {
      const response = await fetch(`${gateway.baseUrl}/v1/snapshots:stream?${query}`, { signal: abort.signal });
      assert.equal(response.status, 200);
      const reader = response.body!.pipeThrough(new TextDecoderStream()).getReader();
      let text = "";
      while (!text.includes("\n")) {
        const { value, done } = await reader.read();
        assert.ok(!done, "the stream ended before its first line");
        text += value;
      }
      return JSON.parse(text.slice(0, text.indexOf("\n"))).result.snapshot;
    } finally {
      abort.abort();
    }
  }

  it("writes only symbolId, ltp, sequence and exchangeTime in LTP mode, not the other fields as zeros", async () => {
    const snapshot = await firstSnapshot("symbol_ids=13&mode=SNAPSHOT_MODE_LTP&max_updates_per_second=4");
    assert.deepEqual(Object.keys(snapshot).sort(), ["exchangeTime", "ltp", "sequence", "symbolId"]);
    assert.equal(snapshot.ltp, 24350.5);
  });

  it("writes every quote field, zeros included, and no book by default; the book too in FULL mode", async () => {
    const quote = await firstSnapshot("symbol_ids=13");
    assert.equal(quote.symbol, "NIFTY 50");
    assert.equal(quote.bidSize, "75");
    assert.equal("depth" in quote, false);
    const full = await firstSnapshot("symbol_ids=13&mode=SNAPSHOT_MODE_FULL");
    assert.deepEqual(full.depth, { bids: [{ price: 24350.45, quantity: "75", orders: 3 }], asks: [] });
  });
});

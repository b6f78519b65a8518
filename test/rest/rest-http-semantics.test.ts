import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { after, before, describe, it } from "node:test";
import { promisify } from "node:util";
import { startGateway, type TestGateway } from "../support/gateway.js";
import { waitFor } from "../support/transports.js";

const run = promisify(execFile);

describe("REST HTTP semantics", () => {
  let gateway: TestGateway;
  before(async () => {
    gateway = await startGateway();
  });
  after(() => gateway.close());

  const url = (path: string) => `${gateway.baseUrl}${path}`;

  describe("HEAD", () => {
    for (const path of ["/v1/snapshots/13", "/snapshot/13", "/v1/snapshots?symbol_ids=13", "/v1/symbols"]) {
      it(`answers HEAD ${path} with GET's status and headers and no body`, async () => {
        const get = await fetch(url(path), { headers: { "accept-encoding": "identity" } });
        const body = await get.text();
        const head = await fetch(url(path), { method: "HEAD", headers: { "accept-encoding": "identity" } });
        assert.equal(head.status, 200);
        assert.equal(await head.text(), "");
        assert.equal(head.headers.get("content-type"), get.headers.get("content-type"));
        assert.equal(head.headers.get("content-length"), String(Buffer.byteLength(body)));
        assert.equal(head.headers.get("etag"), get.headers.get("etag"));
      });
    }

    it("answers HEAD of an unknown symbol with GET's 404", async () => {
      const head = await fetch(url("/v1/snapshots/999999"), { method: "HEAD" });
      assert.equal(head.status, 404);
    });

    it("answers curl -I on the SSE route with the stream's headers, and ends", async () => {
      const { stdout } = await run("curl", ["-sS", "-I", "--max-time", "5", "-H", "Accept: text/event-stream", url("/v1/snapshots:stream?symbol_ids=13")]);
      assert.match(stdout, /^HTTP\/1\.1 200/);
      assert.match(stdout, /content-type: text\/event-stream/i);
      await waitFor(() => gateway.app.market.hub.subscriptionCount === 0, 5000, "the HEAD stream's subscription released");
    });

    it("names HEAD in the Allow header of a 405 on a GET route", async () => {
      const response = await fetch(url("/v1/snapshots/13"), { method: "DELETE" });
      assert.equal(response.status, 405);
      assert.equal(response.headers.get("allow"), "GET, HEAD");
    });
  });

  describe("unknown paths", () => {
    for (const path of ["/v1/nope", "/nope", "/v1/snapshots/13/extra"]) {
      it(`answers ${path} with the documented error body`, async () => {
        const response = await fetch(url(path));
        assert.equal(response.status, 404);
        assert.match(response.headers.get("content-type") ?? "", /^application\/json/);
        const body = (await response.json()) as Record<string, unknown>;
        assert.deepEqual(Object.keys(body).sort(), ["code", "details", "message"]);
        assert.equal(body.code, "not_found");
        assert.deepEqual(body.details, []);
      });
    }

    it("quotes a huge unknown path only in part", async () => {
      const response = await fetch(url(`/v1/${"x".repeat(10_000)}`));
      assert.equal(response.status, 404);
      const { message } = (await response.json()) as { message: string };
      assert.ok(message.length < 300, `message of ${message.length} characters`);
    });
  });

  describe("encoded colons", () => {
    for (const colon of ["%3A", "%3a"]) {
      it(`routes /v1/snapshots${colon}batchGet as /v1/snapshots:batchGet`, async () => {
        const init = { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ symbolIds: [13, 25] }) };
        const plain = await fetch(url("/v1/snapshots:batchGet"), init);
        const encoded = await fetch(url(`/v1/snapshots${colon}batchGet`), init);
        assert.equal(encoded.status, 200);
        assert.deepEqual(await encoded.json(), await plain.json());
      });
    }
  });

  describe("input errors", () => {
    it("quotes a huge unknown query parameter name only in part", async () => {
      const name = "y".repeat(8_000);
      const response = await fetch(url(`/v1/snapshots/13?${name}=1`));
      assert.equal(response.status, 400);
      const { code, message } = (await response.json()) as { code: string; message: string };
      assert.equal(code, "invalid_argument");
      assert.match(message, /unknown query parameter y+…/);
      assert.ok(message.length < 300, `message of ${message.length} characters`);
    });
  });

  describe("caching", () => {
    it("tags a snapshot with its sequence, and answers If-None-Match with 304 until it moves", async () => {
      const first = await fetch(url("/v1/snapshots/25"));
      const snapshot = (await first.json()) as { sequence: string };
      const tag = first.headers.get("etag")!;
      assert.match(tag, new RegExp(`^"25\\.${snapshot.sequence}\\.\\d+"$`));
      assert.equal(first.headers.get("cache-control"), "no-cache");

      const again = await fetch(url("/v1/snapshots/25"), { headers: { "if-none-match": tag } });
      assert.equal(again.status, 304);
      assert.equal(await again.text(), "");
      assert.equal(again.headers.get("etag"), tag);
      assert.equal((await fetch(url("/v1/snapshots/25"), { headers: { "if-none-match": `"x", W/${tag}` } })).status, 304);

      await gateway.app.market.ingest([{ symbolId: 25, ltp: 52111 }]);
      const moved = await fetch(url("/v1/snapshots/25"), { headers: { "if-none-match": tag } });
      assert.equal(moved.status, 200);
      const next = (await moved.json()) as { sequence: string; ltp: number };
      assert.equal(next.ltp, 52111);
      assert.equal(BigInt(next.sequence), BigInt(snapshot.sequence) + 1n);
      assert.notEqual(moved.headers.get("etag"), tag);
    });

    it("tags other GET answers by their bytes", async () => {
      const first = await fetch(url("/v1/symbols"));
      await first.arrayBuffer();
      const tag = first.headers.get("etag");
      assert.match(tag ?? "", /^"[\w-]+"$/);
      assert.equal((await fetch(url("/v1/symbols"), { headers: { "if-none-match": tag! } })).status, 304);
      assert.equal((await fetch(url("/v1/symbols"), { headers: { "if-none-match": '"other"' } })).status, 200);
    });

    it("leaves POST answers untagged", async () => {
      const response = await fetch(url("/v1/snapshots:batchGet"), {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ symbolIds: [13] }),
      });
      assert.equal(response.status, 200);
      assert.equal(response.headers.get("etag"), null);
    });
  });
});

import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { StreamResponse } from "../../../src/server/connect-lane/stream-response.js";
import { neverIndexedHeaders } from "../../support/raw-http.js";
import { startHttp2Pair, type Http2Pair } from "../../support/http2-pair.js";

describe("StreamResponse", () => {
  let pair: Http2Pair;
  before(async () => {
    pair = await startHttp2Pair();
  });
  after(() => pair.close());

  it("sends the head set by writeHead with the body, and a date", async () => {
    const { server, answer } = await pair.open();
    const response = new StreamResponse(server);
    response.writeHead(404, { "content-type": "application/json", "x-call": ["a", "b"] });
    response.end(Buffer.from("{}"));
    const got = await answer;
    assert.equal(got.headers[":status"], 404);
    assert.equal(got.headers["content-type"], "application/json");
    assert.equal(got.headers["x-call"], "a, b");
    assert.match(String(got.headers.date), /GMT$/);
    assert.equal(got.body.toString(), "{}");
  });

  it("sends the request id as a header never indexed, and the others indexed", async () => {
    for (const id of ["connect-1", "connect-2"]) {
      const { server, answer } = await pair.open();
      const response = new StreamResponse(server);
      response.writeHead(200, { "x-request-id": id, "content-type": "application/proto" });
      response.end(Buffer.alloc(0));
      const got = await answer;
      assert.equal(got.headers["x-request-id"], id);
      // What the client's HPACK decoder was told: a literal it must never index.
      assert.deepEqual(neverIndexedHeaders(got.headers), ["x-request-id"]);
    }
  });
});

import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { once } from "node:events";
import * as http from "node:http";
import type { AddressInfo } from "node:net";
import { after, before, describe, it } from "node:test";
import { endInOneWrite } from "../../../src/server/connect-lane/unary-response.js";

describe("endInOneWrite", () => {
  const bodies = new Map<string, Uint8Array>([
    // Every byte value, so that none is changed on its way through text.
    ["every-byte", Uint8Array.from({ length: 512 }, (_, i) => i % 256)],
    // A view into a larger buffer, as serializers hand out.
    ["view", new Uint8Array(randomBytes(300).buffer, 7, 200)],
    ["large", randomBytes(40 * 1024)],
    ["empty", new Uint8Array(0)],
  ]);
  let server: http.Server;
  let base: string;
  before(async () => {
    server = http.createServer((req, res) => {
      const body = bodies.get(req.url!.slice(1))!;
      res.writeHead(200, { "content-type": "application/proto", "content-length": String(body.byteLength) });
      endInOneWrite(res, body);
    });
    server.listen(0, "127.0.0.1");
    await once(server, "listening");
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(() => server.close());

  for (const [name, body] of bodies) {
    it(`sends the body byte for byte (${name}, ${body.byteLength} bytes)`, async () => {
      const response = await fetch(`${base}/${name}`);
      assert.equal(response.status, 200);
      assert.deepEqual(new Uint8Array(await response.arrayBuffer()), new Uint8Array(body));
    });
  }
});

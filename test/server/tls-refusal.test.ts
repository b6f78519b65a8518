import assert from "node:assert/strict";
import * as http2 from "node:http2";
import * as net from "node:net";
import { after, before, describe, it } from "node:test";
import { createTestCertificate, type TestCertificate } from "../support/certificate.js";
import { startGateway, type TestGateway } from "../support/gateway.js";

const PREFACE = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";

describe("h2c sent to a TLS-only port", () => {
  let certificate: TestCertificate;
  let gateway: TestGateway;

  before(async () => {
    certificate = await createTestCertificate();
    gateway = await startGateway({ TLS_CERT_FILE: certificate.certFile, TLS_KEY_FILE: certificate.keyFile });
  });
  after(async () => {
    await gateway.close();
    await certificate.remove();
  });

  it("gets a GOAWAY whose debug data says TLS is required, as an HTTP/2 client sees it", async () => {
    const session = http2.connect(gateway.baseUrl);
    session.on("error", () => {});
    const [errorCode, lastStreamId, debug] = await new Promise<[number, number, Buffer | undefined]>((resolve, reject) => {
      session.once("goaway", (code: number, last: number, data?: Buffer) => resolve([code, last, data]));
      session.once("close", () => reject(new Error("closed without GOAWAY")));
    });
    session.destroy();
    assert.equal(errorCode, http2.constants.NGHTTP2_INADEQUATE_SECURITY);
    assert.equal(lastStreamId, 0);
    assert.match(debug?.toString() ?? "", /TLS required/);
  });

  it("sends SETTINGS, then the GOAWAY, then closes the connection, byte for byte", async () => {
    const socket = net.connect(gateway.port, "127.0.0.1");
    const received: Buffer[] = [];
    socket.on("data", (chunk: Buffer) => received.push(chunk));
    await new Promise<void>((resolve, reject) => {
      socket.once("close", () => resolve());
      socket.once("error", reject);
      socket.write(PREFACE);
    });
    const bytes = Buffer.concat(received);
    // SETTINGS, empty, on stream 0.
    assert.deepEqual([...bytes.subarray(0, 9)], [0, 0, 0, 4, 0, 0, 0, 0, 0]);
    const goaway = bytes.subarray(9);
    assert.equal(goaway[3], 7, "frame type GOAWAY");
    assert.equal(goaway.readUIntBE(0, 3), goaway.length - 9);
    assert.equal(goaway.readUInt32BE(13), 0xc, "error code INADEQUATE_SECURITY");
    assert.match(goaway.subarray(17).toString(), /TLS required/);
  });

  it("keeps serving TLS callers", async () => {
    const session = http2.connect(`https://localhost:${gateway.port}`, { ca: certificate.cert });
    const status = await new Promise<number>((resolve, reject) => {
      const stream = session.request({ ":path": "/healthz" });
      stream.on("response", (headers) => resolve(Number(headers[":status"])));
      stream.on("error", reject);
      stream.resume();
      stream.end();
    });
    session.destroy();
    assert.equal(status, 200);
  });
});

import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { after, before, describe, it } from "node:test";
import { MarketDataClient } from "../../packages/client/src/index.js";
import { createTestCertificate, type TestCertificate } from "../support/certificate.js";
import { startGateway, type TestGateway } from "../support/gateway.js";

describe("MarketDataClient over TLS", () => {
  let certificate: TestCertificate;
  let gateway: TestGateway;
  let httpsUrl: string;
  before(async () => {
    certificate = await createTestCertificate();
    gateway = await startGateway({ TLS_CERT_FILE: certificate.certFile, TLS_KEY_FILE: certificate.keyFile });
    httpsUrl = `https://localhost:${gateway.port}`;
  });
  after(async () => {
    await gateway?.close();
    await certificate?.remove();
  });

  it("reads and streams over https:// with the CA given in nodeOptions", async () => {
    await using client = new MarketDataClient({ baseUrl: httpsUrl, nodeOptions: { ca: certificate.cert } });
    await client.connect();
    assert.equal((await client.getSnapshot(13)).symbol, "NIFTY 50");
    for await (const snapshot of client.subscribeSnapshots([25])) {
      assert.equal(snapshot.symbolId, 25);
      break;
    }
  });

  it("refuses a certificate it does not trust", async () => {
    await using client = new MarketDataClient({ baseUrl: httpsUrl, retry: false });
    await assert.rejects(client.connect());
  });

  it("passes the container HEALTHCHECK over HTTPS", async () => {
    const code = await new Promise<number>((resolve) =>
      execFile(
        process.execPath,
        ["bin/healthcheck.js"],
        { env: { ...process.env, PORT: String(gateway.port), TLS_CERT_FILE: certificate.certFile }, timeout: 10_000 },
        (error) => resolve(error === null ? 0 : typeof error.code === "number" ? error.code : -1),
      ),
    );
    assert.equal(code, 0);
  });
});

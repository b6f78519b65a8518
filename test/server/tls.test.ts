import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { after, before, describe, it } from "node:test";
import * as grpc from "@grpc/grpc-js";
import { create } from "@bufbuild/protobuf";
import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { createConnectTransport, createGrpcTransport, createGrpcWebTransport } from "@connectrpc/connect-node";
import { ConfigError, loadConfig } from "../../src/config.js";
import { GetSnapshotRequestSchema, MarketDataService } from "../../src/gen/stockify/v1/market_data_service_pb.js";
import { expectCode } from "../support/expect-code.js";
import { createTestCertificate, type TestCertificate } from "../support/certificate.js";
import { startGateway, type TestGateway } from "../support/gateway.js";
import { grpcJsUnary } from "../support/grpc-js-client.js";
import { GRPC_LANES } from "../support/grpc-lanes.js";

const run = promisify(execFile);

for (const lane of GRPC_LANES) describe(`TLS on the one port (${lane.name})`, () => {
  let certificate: TestCertificate;
  before(async () => {
    certificate = await createTestCertificate();
  });
  after(() => certificate.remove());

  describe("with a certificate", () => {
    let gateway: TestGateway;
    let httpsUrl: string;
    before(async () => {
      gateway = await startGateway({ ...lane.env, TLS_CERT_FILE: certificate.certFile, TLS_KEY_FILE: certificate.keyFile });
      httpsUrl = `https://127.0.0.1:${gateway.port}`;
    });
    after(() => gateway.close());

    for (const version of ["--http2", "--http1.1"] as const) {
      it(`answers curl ${version} over HTTPS, negotiated by ALPN`, async () => {
        const { stdout } = await run("curl", [
          "-sS", version, "--cacert", certificate.certFile,
          "-H", "content-type: application/json", "-d", '{"symbolId": 13}',
          "-w", "\n%{http_version} %{http_code}",
          `${httpsUrl}/stockify.v1.MarketDataService/GetSnapshot`,
        ]);
        const [body, status] = stdout.split("\n");
        assert.equal(status, version === "--http2" ? "2 200" : "1.1 200");
        assert.equal((JSON.parse(body!) as { snapshot: { symbol: string } }).snapshot.symbol, "NIFTY 50");
      });
    }

    it("serves connect-node's gRPC, gRPC-Web and Connect transports trusting the test CA", async () => {
      const nodeOptions = { ca: certificate.cert };
      for (const transport of [
        createGrpcTransport({ baseUrl: httpsUrl, nodeOptions }),
        createGrpcWebTransport({ baseUrl: httpsUrl, httpVersion: "2", nodeOptions }),
        createConnectTransport({ baseUrl: httpsUrl, httpVersion: "1.1", nodeOptions }),
      ]) {
        const client = createClient(MarketDataService, transport);
        assert.equal((await client.getSnapshot({ symbolId: 25 })).snapshot?.symbol, "BANK NIFTY");
        // Abort rather than break: leaving the loop does not cancel the call.
        const abort = new AbortController();
        let first: number | undefined;
        const reading = (async () => {
          for await (const event of client.subscribeSnapshots({ symbolIds: [27] }, { signal: abort.signal })) {
            if (event.event.case === "snapshot") first ??= event.event.value.symbolId;
            abort.abort();
          }
        })();
        await expectCode(reading, Code.Canceled);
        assert.equal(first, 27);
      }
    });

    it("serves @grpc/grpc-js with SSL credentials", async () => {
      const client = new grpc.Client(`localhost:${gateway.port}`, grpc.credentials.createSsl(Buffer.from(certificate.cert)));
      try {
        const response = await grpcJsUnary(client, MarketDataService.method.getSnapshot, create(GetSnapshotRequestSchema, { symbolId: 13 }));
        assert.equal(response.snapshot?.symbol, "NIFTY 50");
      } finally {
        client.close();
      }
    });

    it("refuses a client that does not trust the certificate", async () => {
      const client = createClient(MarketDataService, createGrpcTransport({ baseUrl: httpsUrl }));
      await assert.rejects(client.getSnapshot({ symbolId: 13 }), /self-signed certificate/);
    });

    it("refuses cleartext: HTTP/1.1 gets a 400 naming https, h2c a GOAWAY", async () => {
      const response = await fetch(`${gateway.baseUrl}/stockify.v1.MarketDataService/ListSymbols`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: "{}",
      });
      assert.equal(response.status, 400);
      assert.match(await response.text(), /HTTPS only/);
      const h2c = createClient(MarketDataService, createGrpcTransport({ baseUrl: gateway.baseUrl }));
      const refused = await h2c.getSnapshot({ symbolId: 13 }).then(
        () => assert.fail("h2c was served"),
        (error: unknown) => ConnectError.from(error),
      );
      // GOAWAY with INADEQUATE_SECURITY (0xc): a permanent refusal, not one to retry.
      assert.match(refused.message, /error code 12/);
    });
  });

  it("serves cleartext beside TLS on the same port with TLS_CLEARTEXT=accept", async () => {
    const gateway = await startGateway({
      ...lane.env,
      TLS_CERT_FILE: certificate.certFile,
      TLS_KEY_FILE: certificate.keyFile,
      TLS_CLEARTEXT: "accept",
    });
    try {
      for (const baseUrl of [gateway.baseUrl, `https://127.0.0.1:${gateway.port}`]) {
        const client = createClient(MarketDataService, createGrpcTransport({ baseUrl, nodeOptions: { ca: certificate.cert } }));
        assert.equal((await client.getSnapshot({ symbolId: 13 })).snapshot?.symbolId, 13, baseUrl);
      }
    } finally {
      await gateway.close();
    }
  });

  it("stops with a ConfigError for half a pair or a key that does not match", async () => {
    assert.throws(() => loadConfig({ TLS_CERT_FILE: certificate.certFile }), /TLS_CERT_FILE and TLS_KEY_FILE must be set together/);
    const other = await createTestCertificate();
    try {
      assert.throws(
        () => loadConfig({ TLS_CERT_FILE: certificate.certFile, TLS_KEY_FILE: other.keyFile }),
        (error: Error) => error instanceof ConfigError && /do not make a usable pair/.test(error.message),
      );
    } finally {
      await other.remove();
    }
  });
});

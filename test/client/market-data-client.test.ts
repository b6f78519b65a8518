import assert from "node:assert/strict";
import * as http2 from "node:http2";
import type { AddressInfo } from "node:net";
import { after, afterEach, describe, it } from "node:test";
import { Code, ConnectError } from "@connectrpc/connect";
import { MarketDataClient, type RetryEvent } from "../../packages/client/src/index.js";
import { startGateway, type TestGateway } from "../support/gateway.js";
import { waitFor } from "../support/transports.js";

/** A bare HTTP/2 server that records request headers and answers as told (or never). */
async function startRawServer(answer: "never" | "not-found") {
  const seen: http2.IncomingHttpHeaders[] = [];
  const server = http2.createServer();
  const sessions = new Set<http2.ServerHttp2Session>();
  server.on("session", (session) => sessions.add(session));
  server.on("stream", (stream, headers) => {
    seen.push(headers);
    stream.on("error", () => {});
    stream.resume();
    if (answer === "never") return;
    stream.on("end", () => {
      stream.respond({ ":status": 200, "content-type": "application/grpc" }, { waitForTrailers: true });
      stream.on("wantTrailers", () => stream.sendTrailers({ "grpc-status": String(Code.NotFound), "grpc-message": "nothing here" }));
      stream.end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    baseUrl: `http://127.0.0.1:${port}`,
    seen,
    close: () =>
      new Promise<void>((resolve) => {
        for (const session of sessions) session.destroy();
        server.close(() => resolve());
      }),
  };
}

function codeOf(error: unknown): Code {
  return ConnectError.from(error).code;
}

describe("MarketDataClient", () => {
  const cleanups: Array<() => Promise<void>> = [];
  afterEach(async () => {
    while (cleanups.length > 0) await cleanups.pop()!();
  });

  let shared: TestGateway | undefined;
  after(async () => shared?.close());
  async function gateway(): Promise<TestGateway> {
    shared ??= await startGateway();
    return shared;
  }

  function client(options: ConstructorParameters<typeof MarketDataClient>[0]): MarketDataClient {
    const created = new MarketDataClient(options);
    cleanups.push(() => created.close());
    return created;
  }

  it("reads one snapshot, a batch as a Map in the order asked, and the symbol list", async () => {
    const { baseUrl } = await gateway();
    const c = client({ baseUrl });
    await c.connect();
    const nifty = await c.getSnapshot(13);
    assert.equal(nifty.symbol, "NIFTY 50");
    assert.equal(nifty.ltp, 24350);

    const batch = await c.getBatchSnapshots([27, 13, 999]);
    assert.deepEqual([...batch.keys()], [27, 13]);
    assert.equal(batch.get(27)?.symbol, "FIN NIFTY");

    const symbols = await c.listSymbols();
    assert.deepEqual(
      symbols.map((s) => s.symbolId),
      [13, 25, 27],
    );
  });

  it("checks the gateway's health over grpc.health.v1", async () => {
    const { baseUrl } = await gateway();
    const c = client({ baseUrl });
    assert.equal(await c.checkHealth(), "SERVING");
    assert.equal(await c.checkHealth("stockify.v1.MarketDataService"), "SERVING");
    await assert.rejects(c.checkHealth("no.such.Service"), (error) => codeOf(error) === Code.NotFound);
  });

  it("reports an unknown symbol as NOT_FOUND and does not retry it", async () => {
    const { baseUrl } = await gateway();
    const retries: RetryEvent[] = [];
    const c = client({ baseUrl, onRetry: (event) => retries.push(event) });
    await assert.rejects(c.getSnapshot(999), (error) => codeOf(error) === Code.NotFound);
    assert.equal(retries.length, 0);
  });

  it("fails connect() with UNAVAILABLE when nothing listens", async () => {
    const { port, close } = await startGateway();
    await close();
    const c = client({ baseUrl: `http://127.0.0.1:${port}` });
    await assert.rejects(c.connect(), (error) => codeOf(error) === Code.Unavailable);
  });

  it("retries a read with backoff while the gateway is down and succeeds once it is back on the same port", async () => {
    const first = await startGateway();
    const port = first.port;
    await first.close();
    const retries: RetryEvent[] = [];
    const c = client({
      baseUrl: `http://127.0.0.1:${port}`,
      timeoutMs: 20_000,
      retry: { maxAttempts: 100, initialBackoffMs: 20, maxBackoffMs: 100 },
      onRetry: (event) => retries.push(event),
    });
    const pending = c.getSnapshot(13);
    await waitFor(() => retries.length >= 2, 10_000, "two failed attempts");
    const second = await startGateway({ PORT: String(port) });
    cleanups.push(() => second.close());
    const snapshot = await pending;
    assert.equal(snapshot.symbolId, 13);
    assert.equal(retries[0]!.method, "stockify.v1.MarketDataService/GetSnapshot");
    assert.ok(retries.every((r) => codeOf(r.error) === Code.Unavailable));
    assert.ok(retries.every((r) => r.delayMs >= 0 && r.delayMs <= 100), "delays stay within the backoff bound");
  });

  it("gives up with UNAVAILABLE after the configured attempts", async () => {
    const { port, close } = await startGateway();
    await close();
    const retries: RetryEvent[] = [];
    const c = client({
      baseUrl: `http://127.0.0.1:${port}`,
      retry: { maxAttempts: 3, initialBackoffMs: 1, maxBackoffMs: 5 },
      onRetry: (event) => retries.push(event),
    });
    await assert.rejects(c.getBatchSnapshots([13]), (error) => codeOf(error) === Code.Unavailable);
    assert.deepEqual(
      retries.map((r) => r.attempt),
      [1, 2],
    );
  });

  it("ends a call that gets no answer with DEADLINE_EXCEEDED at the default deadline", async () => {
    const raw = await startRawServer("never");
    cleanups.push(raw.close);
    const c = client({ baseUrl: raw.baseUrl, timeoutMs: 300 });
    const started = Date.now();
    await assert.rejects(c.getSnapshot(13), (error) => codeOf(error) === Code.DeadlineExceeded);
    assert.ok(Date.now() - started >= 250, "the call waited for its deadline");
    assert.equal(raw.seen[0]?.["grpc-timeout"] !== undefined, true, "the deadline travels to the server");
  });

  it("keeps retries within the call's deadline", async () => {
    const { port, close } = await startGateway();
    await close();
    const c = client({
      baseUrl: `http://127.0.0.1:${port}`,
      timeoutMs: 300,
      retry: { maxAttempts: 1000, initialBackoffMs: 50, maxBackoffMs: 50 },
    });
    await assert.rejects(c.getSnapshot(13), (error) => codeOf(error) === Code.DeadlineExceeded);
  });

  it("sends the bearer token on every call and compresses large requests when asked", async () => {
    const raw = await startRawServer("not-found");
    cleanups.push(raw.close);
    const c = client({ baseUrl: raw.baseUrl, token: "s3cret", compression: "gzip" });
    await assert.rejects(c.getSnapshot(13), (error) => codeOf(error) === Code.NotFound);
    await assert.rejects(
      c.getBatchSnapshots(Array.from({ length: 1000 }, (_, i) => i + 1)),
      (error) => codeOf(error) === Code.NotFound,
    );
    assert.equal(raw.seen.length, 2);
    assert.ok(raw.seen.every((h) => h.authorization === "Bearer s3cret"));
    assert.equal(raw.seen[1]!["grpc-encoding"], "gzip");
    assert.match(String(raw.seen[1]!["grpc-accept-encoding"]), /gzip/);
  });

  it("reads gzip-compressed batches from the gateway", async () => {
    const { baseUrl } = await gateway();
    const c = client({ baseUrl, compression: "gzip" });
    const ids = Array.from({ length: 500 }, (_, i) => i + 1);
    const batch = await c.getBatchSnapshots(ids);
    assert.deepEqual([...batch.keys()], [13, 25, 27]);
  });

  it("uses one connection for unary calls and streams alike", async () => {
    const gw = await startGateway();
    cleanups.push(() => gw.close());
    let connections = 0;
    gw.app.server.on("connection", () => connections++);
    const c = client({ baseUrl: gw.baseUrl });
    await c.connect();
    await Promise.all([c.getSnapshot(13), c.getSnapshot(25), c.getBatchSnapshots([13, 27]), c.listSymbols()]);
    for await (const snapshot of c.subscribeSnapshots([13])) {
      assert.equal(snapshot.symbolId, 13);
      break;
    }
    await c.getSnapshot(27);
    assert.equal(connections, 1);
  });

  it("closes at the end of an await using block and refuses calls afterwards", async () => {
    const { baseUrl } = await gateway();
    let escaped: MarketDataClient;
    {
      await using c = new MarketDataClient({ baseUrl });
      escaped = c;
      assert.equal((await c.getSnapshot(25)).symbol, "BANK NIFTY");
    }
    await assert.rejects(escaped.getSnapshot(25), (error) => codeOf(error) === Code.FailedPrecondition);
  });

  it("rejects options that cannot work", () => {
    assert.throws(() => new MarketDataClient({ baseUrl: "127.0.0.1:50051" }), /baseUrl/);
    assert.throws(() => new MarketDataClient({ timeoutMs: 0 }), /timeoutMs/);
    assert.throws(() => new MarketDataClient({ retry: { maxAttempts: 0 } }), /maxAttempts/);
  });
});

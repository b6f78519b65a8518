import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import * as http from "node:http";
import * as http2 from "node:http2";
import * as net from "node:net";
import { after, afterEach, before, describe, it } from "node:test";
import { promisify } from "node:util";
import { create } from "@bufbuild/protobuf";
import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { createConnectTransport, createGrpcTransport } from "@connectrpc/connect-node";
import { MarketDataService, StreamMarketDataRequestSchema } from "../../src/gen/stockify/v1/market_data_service_pb.js";
import { MarketFeedService, StreamTicksRequestSchema } from "../../src/gen/stockify/v1/market_feed_service_pb.js";
import { createOnePortServer, type OnePortServer, type OnePortServerOptions } from "../../src/server/one-port-server.js";
import { startGateway } from "../support/gateway.js";
import { waitFor } from "../support/transports.js";

const run = promisify(execFile);

/** Answers every request with the HTTP version it arrived on; /stream sends ten lines over half a second. */
async function listen(options: OnePortServerOptions = {}): Promise<{ server: OnePortServer; port: number }> {
  const server = createOnePortServer((req, res) => {
    res.setHeader("content-type", "text/plain");
    if (req.url === "/stream") {
      let sent = 0;
      const timer = setInterval(() => {
        // Both response kinds write alike; TypeScript cannot call the union.
        (res as http.ServerResponse).write(`${sent++}\n`);
        if (sent === 10) {
          clearInterval(timer);
          res.end();
        }
      }, 50);
      return;
    }
    res.end(`HTTP/${req.httpVersion} ${req.method} ${req.url}`);
  }, options);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return { server, port: (server.address() as net.AddressInfo).port };
}

function close(server: net.Server): Promise<void> {
  return new Promise((resolve, reject) => server.close((error) => (error ? reject(error) : resolve())));
}

function http1Get(port: number, path: string, agent?: http.Agent): Promise<string> {
  return new Promise((resolve, reject) => {
    http
      .get({ host: "127.0.0.1", port, path, agent }, (res) => {
        let body = "";
        res.setEncoding("utf8");
        res.on("data", (chunk: string) => (body += chunk));
        res.on("end", () => resolve(body));
      })
      .on("error", reject);
  });
}

function http2Get(session: http2.ClientHttp2Session, path: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const stream = session.request({ ":path": path });
    let body = "";
    stream.setEncoding("utf8");
    stream.on("data", (chunk: string) => (body += chunk));
    stream.on("end", () => resolve(body));
    stream.on("error", reject);
  });
}

/**
 * Relays a client's connection to the server, sending its first `slowBytes`
 * bytes one at a time with a pause between them, as a slow or oddly
 * segmenting client would.
 */
async function trickleProxy(targetPort: number, slowBytes: number): Promise<{ proxy: net.Server; port: number }> {
  const proxy = net.createServer((client) => {
    const upstream = net.connect({ host: "127.0.0.1", port: targetPort, noDelay: true });
    let sent = 0;
    let chain = Promise.resolve();
    client.on("data", (chunk: Buffer) => {
      chain = chain.then(async () => {
        for (let i = 0; i < chunk.length; i++) {
          if (sent >= slowBytes) {
            upstream.write(chunk.subarray(i));
            return;
          }
          upstream.write(chunk.subarray(i, i + 1));
          sent++;
          await new Promise((resolve) => setTimeout(resolve, 2));
        }
      });
    });
    upstream.pipe(client);
    client.on("close", () => upstream.destroy());
    upstream.on("close", () => client.destroy());
    client.on("error", () => upstream.destroy());
    upstream.on("error", () => client.destroy());
  });
  await new Promise<void>((resolve) => proxy.listen(0, "127.0.0.1", resolve));
  return { proxy, port: (proxy.address() as net.AddressInfo).port };
}

describe("one-port server", () => {
  describe("routing", () => {
    let server: OnePortServer;
    let port: number;
    before(async () => ({ server, port } = await listen()));
    after(() => close(server));

    it("serves HTTP/1.1 and HTTP/2 with prior knowledge on the same port", async () => {
      assert.equal(await http1Get(port, "/one"), "HTTP/1.1 GET /one");
      const session = http2.connect(`http://127.0.0.1:${port}`);
      try {
        assert.equal(await http2Get(session, "/two"), "HTTP/2.0 GET /two");
        // Several streams on one connection: it really is HTTP/2.
        const bodies = await Promise.all([1, 2, 3].map((n) => http2Get(session, `/s${n}`)));
        assert.deepEqual(bodies, ["HTTP/2.0 GET /s1", "HTTP/2.0 GET /s2", "HTTP/2.0 GET /s3"]);
      } finally {
        session.close();
      }
    });

    it("answers curl --http1.1 and curl --http2-prior-knowledge", async () => {
      const url = `http://127.0.0.1:${port}/curl`;
      const h1 = await run("curl", ["-sS", "--http1.1", "-w", " %{http_version}", url]);
      assert.equal(h1.stdout, "HTTP/1.1 GET /curl 1.1");
      const h2 = await run("curl", ["-sS", "--http2-prior-knowledge", "-w", " %{http_version}", url]);
      assert.equal(h2.stdout, "HTTP/2.0 GET /curl 2");
    });

    it("keeps an HTTP/1.1 connection alive across requests", async () => {
      const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
      try {
        const sockets = new Set<net.Socket>();
        agent.on("free", (socket: net.Socket) => sockets.add(socket));
        for (let i = 0; i < 3; i++) assert.equal(await http1Get(port, `/k${i}`, agent), `HTTP/1.1 GET /k${i}`);
        assert.equal(sockets.size, 1);
      } finally {
        agent.destroy();
      }
    });

    it("routes a client that sends the HTTP/2 preface one byte at a time", async () => {
      const { proxy, port: proxyPort } = await trickleProxy(port, 64);
      const session = http2.connect(`http://127.0.0.1:${proxyPort}`);
      try {
        assert.equal(await http2Get(session, "/slow"), "HTTP/2.0 GET /slow");
      } finally {
        session.close();
        await close(proxy);
      }
    });

    it("routes an HTTP/1.1 request that begins like the preface, one byte at a time", async () => {
      const { proxy, port: proxyPort } = await trickleProxy(port, 64);
      try {
        // "P" could start the preface; only the second byte tells.
        const body = await new Promise<string>((resolve, reject) => {
          const req = http.request({ host: "127.0.0.1", port: proxyPort, method: "POST", path: "/post", agent: false }, (res) => {
            let text = "";
            res.setEncoding("utf8");
            res.on("data", (chunk: string) => (text += chunk));
            res.on("end", () => resolve(text));
          });
          req.on("error", reject);
          req.end("x");
        });
        assert.equal(body, "HTTP/1.1 POST /post");
      } finally {
        await close(proxy);
      }
    });

    it("answers 400 to a client speaking TLS to the cleartext port, and keeps serving others", async () => {
      const reply = await new Promise<string>((resolve, reject) => {
        // The first bytes of a TLS ClientHello.
        const socket = net.connect({ host: "127.0.0.1", port }, () => socket.write(Buffer.from("160301020001", "hex")));
        let text = "";
        socket.setEncoding("latin1");
        socket.on("data", (chunk: string) => (text += chunk));
        socket.on("close", () => resolve(text));
        socket.on("error", reject);
      });
      assert.match(reply, /^HTTP\/1\.1 400 /);
      assert.equal(await http1Get(port, "/after"), "HTTP/1.1 GET /after");
    });
  });

  describe("first-byte timeout", () => {
    let server: OnePortServer;
    let port: number;
    before(async () => ({ server, port } = await listen({ firstByteTimeoutMs: 200 })));
    after(() => close(server));

    /** Connects, sends `bytes`, then stays silent; resolves with the milliseconds until the server hung up. */
    function silentClient(bytes: string): Promise<number> {
      return new Promise((resolve, reject) => {
        const started = Date.now();
        const socket = net.connect({ host: "127.0.0.1", port }, () => {
          if (bytes !== "") socket.write(bytes);
        });
        socket.on("data", () => reject(new Error("the server answered a silent client")));
        socket.on("error", () => undefined);
        socket.on("close", () => resolve(Date.now() - started));
        // The test's own safety net, far past the server's timeout.
        setTimeout(() => {
          socket.destroy();
          reject(new Error("the server never closed the silent socket"));
        }, 10_000).unref();
      });
    }

    it("closes a connection that never sends a byte", async () => {
      const elapsed = await silentClient("");
      assert.ok(elapsed >= 150, `closed after ${elapsed} ms, before the timeout`);
    });

    it("closes a connection that stops partway through the preface", async () => {
      const elapsed = await silentClient("PRI * HTTP/2.0\r\n");
      assert.ok(elapsed >= 150, `closed after ${elapsed} ms, before the timeout`);
    });

    it("leaves a routed connection alone past the timeout", async () => {
      const session = http2.connect(`http://127.0.0.1:${port}`);
      try {
        assert.equal(await http2Get(session, "/a"), "HTTP/2.0 GET /a");
        // Idle for longer than the first-byte timeout, then used again.
        await new Promise((resolve) => setTimeout(resolve, 400));
        assert.equal(session.closed || session.destroyed, false);
        assert.equal(await http2Get(session, "/b"), "HTTP/2.0 GET /b");
      } finally {
        session.close();
      }
    });
  });
});

describe("one-port server limits and closing", () => {
  it("answers 408 and closes an HTTP/1.1 client that sends its headers too slowly", async () => {
    const { server, port } = await listen({ http1: { headersTimeout: 200, requestTimeout: 300, connectionsCheckingInterval: 50 } });
    try {
      const reply = await new Promise<string>((resolve, reject) => {
        const socket = net.connect({ host: "127.0.0.1", port }, () => socket.write("GET /slow HTTP/1.1\r\nHost: x\r\n"));
        let text = "";
        socket.setEncoding("latin1");
        socket.on("data", (chunk: string) => (text += chunk));
        socket.on("close", () => resolve(text));
        socket.on("error", reject);
        setTimeout(() => {
          socket.destroy();
          reject(new Error("the server kept a half-sent request open"));
        }, 10_000).unref();
      });
      assert.match(reply, /^HTTP\/1\.1 408 /);
    } finally {
      await close(server);
    }
  });

  it("lets a response stream for longer than the request timeout", async () => {
    const { server, port } = await listen({ http1: { headersTimeout: 100, requestTimeout: 150, connectionsCheckingInterval: 20 } });
    try {
      const body = await http1Get(port, "/stream", new http.Agent({ keepAlive: false }));
      assert.equal(body, "0\n1\n2\n3\n4\n5\n6\n7\n8\n9\n");
    } finally {
      await close(server);
    }
  });

  it("closes idle HTTP/1.1 and HTTP/2 connections when it closes", async () => {
    // Keep-alive far away: only closing can end these connections in time.
    const { server, port } = await listen({ http1: { keepAliveTimeout: 60_000 } });
    const agent = new http.Agent({ keepAlive: true });
    const session = http2.connect(`http://127.0.0.1:${port}`);
    try {
      const h1Sockets: net.Socket[] = [];
      agent.on("free", (socket: net.Socket) => h1Sockets.push(socket));
      await http1Get(port, "/", agent);
      await http2Get(session, "/");
      const started = Date.now();
      await close(server);
      assert.ok(Date.now() - started < 10_000, `close took ${Date.now() - started} ms`);
      await waitFor(() => h1Sockets[0]!.destroyed && session.closed, 5000, "client connections to close");
    } finally {
      agent.destroy();
      session.destroy();
    }
  });
});

describe("closing the gateway", () => {
  const cleanup: Array<() => void> = [];
  afterEach(() => {
    for (const fn of cleanup.splice(0)) fn();
  });

  it("closes idle HTTP/1.1 and HTTP/2 connections and stops listening", async () => {
    const gateway = await startGateway();
    const agent = new http.Agent({ keepAlive: true });
    cleanup.push(() => agent.destroy());
    const h1Sockets: net.Socket[] = [];
    agent.on("free", (socket: net.Socket) => h1Sockets.push(socket));
    await http1Get(gateway.port, "/stockify.v1.MarketDataService/ListSymbols", agent);
    const session = http2.connect(gateway.baseUrl);
    cleanup.push(() => session.destroy());
    await http2Get(session, "/stockify.v1.MarketDataService/ListSymbols");
    assert.equal(h1Sockets.length, 1);

    await gateway.close();
    await waitFor(() => h1Sockets[0]!.destroyed && session.closed, 5000, "connections to close");
    assert.equal(gateway.app.server.listening, false);
    await assert.rejects(http1Get(gateway.port, "/"), /ECONNREFUSED/);
  });

  it("ends open streams of every kind with UNAVAILABLE instead of waiting for their clients", async () => {
    const gateway = await startGateway();
    const controller = new AbortController();
    cleanup.push(() => controller.abort());
    const signal = controller.signal;
    const grpc = createClient(MarketDataService, createGrpcTransport({ baseUrl: gateway.baseUrl }));
    let snapshots = 0;
    /** Reads a server stream to its end; resolves with how it ended. */
    const drain = async (stream: AsyncIterable<{ event: { case: string | undefined } }>): Promise<Code | "ok"> => {
      try {
        for await (const response of stream) if (response.event.case === "snapshot") snapshots++;
        return "ok";
      } catch (error) {
        return ConnectError.from(error).code;
      }
    };
    const subscribers = [
      drain(grpc.subscribeSnapshots({ symbolIds: [13] }, { signal })),
      drain(
        createClient(MarketDataService, createConnectTransport({ baseUrl: gateway.baseUrl, httpVersion: "1.1" })).subscribeSnapshots(
          { symbolIds: [13] },
          { signal },
        ),
      ),
      drain(
        createClient(MarketDataService, createConnectTransport({ baseUrl: gateway.baseUrl, httpVersion: "2" })).subscribeSnapshots(
          { symbolIds: [25] },
          { signal },
        ),
      ),
      drain(
        grpc.streamMarketData(
          (async function* () {
            yield create(StreamMarketDataRequestSchema, { action: { case: "subscribe", value: { symbolIds: [27] } } });
            // A client that keeps its side open for as long as it streams.
            await new Promise((resolve) => signal.addEventListener("abort", resolve));
          })(),
          { signal },
        ),
      ),
    ];
    // A REST client streaming server-sent events.
    const rest = await fetch(`${gateway.baseUrl}/v1/snapshots:stream?symbol_ids=13`, { headers: { accept: "text/event-stream" }, signal });
    const restText = rest.text().catch((error: unknown) => `failed: ${String(error)}`);
    // A producer that sends ticks for as long as it is let.
    const feed = createClient(MarketFeedService, createGrpcTransport({ baseUrl: gateway.baseUrl }));
    let produced = 0;
    const producer = feed
      .streamTicks(
        (async function* () {
          while (!signal.aborted) {
            yield create(StreamTicksRequestSchema, { ticks: [{ symbolId: 1001, ltp: 100 + (produced++ % 10) }] });
            await new Promise((resolve) => setTimeout(resolve, 20));
          }
        })(),
        { signal },
      )
      .then(
        () => "ok" as const,
        (error: unknown) => ConnectError.from(error).code,
      );
    await waitFor(
      () => snapshots >= 4 && produced > 1 && gateway.app.market.hub.subscriptionCount === 5,
      5000,
      "every stream to be open",
    );

    const closing = gateway.close();
    const outcome = await Promise.race([
      closing.then(() => "closed"),
      new Promise((resolve) => setTimeout(resolve, 10_000, "still open")),
    ]);
    assert.equal(outcome, "closed");
    // Told to come back later, not that the stream is complete.
    assert.deepEqual(await Promise.all(subscribers), [Code.Unavailable, Code.Unavailable, Code.Unavailable, Code.Unavailable]);
    assert.match(await restText, /event: error[\s\S]*unavailable/);
    // The producer learns at its next send that the stream is gone.
    assert.notEqual(await producer, "ok");
    assert.equal(gateway.app.market.hub.subscriptionCount, 0);
  });
});

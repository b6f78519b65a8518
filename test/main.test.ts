import assert from "node:assert/strict";
import { spawn, type ChildProcess } from "node:child_process";
import { once } from "node:events";
import * as http2 from "node:http2";
import * as net from "node:net";
import { after, describe, it } from "node:test";
import * as grpc from "@grpc/grpc-js";
import { Code, createClient } from "@connectrpc/connect";
import { createConnectTransport, createGrpcTransport } from "@connectrpc/connect-node";
import { service as healthServiceDefinition } from "grpc-health-check";
import { MarketDataService } from "../src/gen/stockify/v1/market_data_service_pb.js";
import { expectCode } from "./support/expect-code.js";
import { frame, rawGrpcCall } from "./support/raw-grpc.js";
import { waitFor } from "./support/transports.js";

interface LogLine {
  level: number;
  msg: string;
  [field: string]: unknown;
}

/** A gateway started the way operators start it: `node --import tsx src/main.ts`. */
class GatewayProcess {
  readonly child: ChildProcess;
  readonly lines: LogLine[] = [];
  #buffered = "";

  constructor(env: Record<string, string>) {
    this.child = spawn(process.execPath, ["--import", "tsx", "src/main.ts"], {
      env: { ...process.env, HOST: "127.0.0.1", PORT: "0", LOG_LEVEL: "info", SIMULATOR_SYMBOLS: "0", SHUTDOWN_DRAIN_DELAY_MS: "0", ...env },
      stdio: ["ignore", "pipe", "inherit"],
    });
    this.child.stdout!.setEncoding("utf8").on("data", (chunk: string) => {
      const text = this.#buffered + chunk;
      const complete = text.split("\n");
      this.#buffered = complete.pop()!;
      for (const line of complete) if (line.trim() !== "") this.lines.push(JSON.parse(line) as LogLine);
    });
  }

  /** Waits for the "Server listening" line and returns the port it names. */
  async port(): Promise<number> {
    let port: number | undefined;
    await waitFor(
      () => {
        const listening = this.lines.find((line) => line.msg.startsWith("Server listening at "));
        port = listening === undefined ? undefined : Number(new URL(listening.msg.slice("Server listening at ".length)).port);
        return port !== undefined;
      },
      // Generous: compiling on start is slow on a busy machine.
      60_000,
      "the gateway to listen",
    );
    return port!;
  }

  exited(): Promise<number | null> {
    if (this.child.exitCode !== null) return Promise.resolve(this.child.exitCode);
    return once(this.child, "exit").then(([code]) => code as number | null);
  }
}

describe("the gateway process", () => {
  const started: GatewayProcess[] = [];
  after(() => {
    for (const gateway of started) if (gateway.child.exitCode === null) gateway.child.kill("SIGKILL");
  });

  it("streams NIFTY 50 prices that change over time, with the simulator as npm start runs it", async () => {
    // The shipped defaults, synthetic symbols included.
    const gateway = new GatewayProcess({ SIMULATOR_SYMBOLS: "100" });
    started.push(gateway);
    const baseUrl = `http://127.0.0.1:${await gateway.port()}`;
    const client = createClient(MarketDataService, createGrpcTransport({ baseUrl }));
    const prices = new Set<number>();
    let lastSequence = 0n;
    // Fails the call, and so the test, if the prices stand still.
    const signal = AbortSignal.timeout(30_000);
    for await (const response of client.subscribeSnapshots({ symbolIds: [13] }, { signal })) {
      if (response.event.case !== "snapshot") continue;
      const snapshot = response.event.value;
      assert.equal(snapshot.symbolId, 13);
      assert.equal(snapshot.symbol, "NIFTY 50");
      assert.ok(snapshot.sequence > lastSequence, `sequence went from ${lastSequence} to ${snapshot.sequence}`);
      assert.ok(snapshot.low <= snapshot.ltp && snapshot.ltp <= snapshot.high);
      assert.ok(snapshot.bid < snapshot.ask);
      lastSequence = snapshot.sequence;
      prices.add(snapshot.ltp);
      if (prices.size >= 3) break;
    }
    assert.ok(prices.size >= 3, `only ${prices.size} prices before the stream ended`);
    gateway.child.kill("SIGTERM");
    assert.equal(await gateway.exited(), 0);
  });

  it("logs one line per call with its request id, method, protocol, code and duration", async () => {
    const gateway = new GatewayProcess({});
    started.push(gateway);
    const baseUrl = `http://127.0.0.1:${await gateway.port()}`;
    const client = createClient(MarketDataService, createConnectTransport({ baseUrl, httpVersion: "1.1" }));
    await client.getSnapshot({ symbolId: 13 }, { headers: { "x-request-id": "req-from-caller" } });
    await expectCode(client.getSnapshot({ symbolId: 4242 }, { headers: { "x-request-id": "req-unknown" } }), Code.NotFound);
    await waitFor(() => gateway.lines.some((line) => line.reqId === "req-unknown"), 5000, "the call log lines");
    const ok = gateway.lines.filter((line) => line.reqId === "req-from-caller");
    assert.equal(ok.length, 1, "exactly one line per call");
    assert.equal(ok[0]!.method, "stockify.v1.MarketDataService/GetSnapshot");
    assert.equal(ok[0]!.protocol, "connect");
    assert.equal(ok[0]!.code, "OK");
    assert.equal(typeof ok[0]!.durationMs, "number");
    assert.equal(gateway.lines.find((line) => line.reqId === "req-unknown")!.code, "NOT_FOUND");
    // On the gRPC lane, the response names the call as its log line does, whoever chose the id.
    const session = http2.connect(baseUrl);
    try {
      for (const headers of [{ "x-request-id": "grpc-from-caller" }, {}]) {
        const answer = await rawGrpcCall(session, "/stockify.v1.MarketDataService/GetSnapshot", frame(Uint8Array.of(8, 13)), headers);
        assert.equal(answer.status, "0");
        const id = answer.headers["x-request-id"];
        assert.equal(typeof id, "string");
        await waitFor(() => gateway.lines.some((line) => line.reqId === id), 5000, `the log line of call ${String(id)}`);
        assert.equal(gateway.lines.find((line) => line.reqId === id)!.protocol, "grpc");
      }
    } finally {
      session.close();
    }
    gateway.child.kill("SIGINT");
    assert.equal(await gateway.exited(), 0);
  });

  it("on SIGTERM turns health NOT_SERVING, ends open streams with UNAVAILABLE and exits 0", async () => {
    const gateway = new GatewayProcess({ SHUTDOWN_TIMEOUT_MS: "5000" });
    started.push(gateway);
    const port = await gateway.port();
    const baseUrl = `http://127.0.0.1:${port}`;

    const client = createClient(MarketDataService, createGrpcTransport({ baseUrl }));
    const stream = client.subscribeSnapshots({ symbolIds: [13] })[Symbol.asyncIterator]();
    assert.equal((await stream.next()).done, false);

    const HealthClient = grpc.makeClientConstructor(healthServiceDefinition, "Health");
    const health = new HealthClient(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
    const watch = (health as unknown as Record<string, (...args: unknown[]) => unknown>).watch!({ service: "" }) as grpc.ClientReadableStream<{ status: string }>;
    const statuses: string[] = [];
    watch.on("data", (reply: { status: string }) => statuses.push(reply.status));
    watch.on("error", () => undefined);
    try {
      await waitFor(() => statuses.length === 1, 5000, "the health watch");

      gateway.child.kill("SIGTERM");
      const streamEnd = await expectCode(
        (async () => {
          for (;;) if ((await stream.next()).done === true) return;
        })(),
        Code.Unavailable,
      );
      assert.match(streamEnd.message, /shutting down/);
      assert.equal(await gateway.exited(), 0);
      assert.deepEqual(statuses, ["SERVING", "NOT_SERVING"]);
      assert.ok(gateway.lines.some((line) => line.msg.startsWith("shutting down")));
      assert.ok(gateway.lines.some((line) => line.msg === "shut down"));
      await assert.rejects(fetch(`${baseUrl}/healthz`), "the port no longer accepts connections");
    } finally {
      health.close();
    }
  });

  it("closes connections still open when the shutdown timeout passes, and still exits 0", async () => {
    const gateway = new GatewayProcess({ SHUTDOWN_TIMEOUT_MS: "300", FIRST_BYTE_TIMEOUT_MS: "60000" });
    started.push(gateway);
    const port = await gateway.port();
    // A connection that never says anything would hold the listener open.
    const silent = net.connect(port, "127.0.0.1");
    silent.on("error", () => undefined);
    await once(silent, "connect");
    const closed = once(silent, "close");
    gateway.child.kill("SIGTERM");
    assert.equal(await gateway.exited(), 0);
    await closed;
    assert.ok(gateway.lines.some((line) => line.msg.startsWith("closing connections still open")));
  });
});

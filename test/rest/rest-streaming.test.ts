import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { after, afterEach, before, describe, it } from "node:test";
import { Code, ConnectError, type Interceptor, type StreamResponse } from "@connectrpc/connect";
import { EventSourceParserStream, type EventSourceMessage } from "eventsource-parser/stream";
import { startGateway, type TestGateway } from "../support/gateway.js";
import { InterceptorSlot } from "../support/interceptor-slot.js";
import { waitFor } from "../support/transports.js";

/** Reads events from a response body as they arrive. */
class EventReader<T> {
  readonly items: T[] = [];
  ended = false;
  readonly done: Promise<void>;

  constructor(source: ReadableStream<T>) {
    this.done = (async () => {
      try {
        for await (const item of source) this.items.push(item);
      } catch {
        // Aborted by the test.
      } finally {
        this.ended = true;
      }
    })();
  }

  async waitFor(predicate: (items: T[]) => boolean, what: string): Promise<void> {
    await waitFor(() => predicate(this.items) || this.ended, 5000, what);
    assert.ok(predicate(this.items), `${what}; got ${JSON.stringify(this.items)}`);
  }
}

function sse(response: Response): EventReader<EventSourceMessage> {
  return new EventReader(response.body!.pipeThrough(new TextDecoderStream()).pipeThrough(new EventSourceParserStream()));
}

function ndjson(response: Response): EventReader<any> {
  let buffered = "";
  const lines = response.body!.pipeThrough(new TextDecoderStream()).pipeThrough(
    new TransformStream<string, unknown>({
      transform(chunk, controller) {
        buffered += chunk;
        let newline: number;
        while ((newline = buffered.indexOf("\n")) !== -1) {
          controller.enqueue(JSON.parse(buffered.slice(0, newline)));
          buffered = buffered.slice(newline + 1);
        }
      },
    }),
  );
  return new EventReader(lines);
}

const data = (event: EventSourceMessage) => JSON.parse(event.data);

describe("REST server streaming", () => {
  let gateway: TestGateway;
  const slot = new InterceptorSlot();
  const aborts: AbortController[] = [];
  before(async () => {
    gateway = await startGateway({ HEARTBEAT_INTERVAL_MS: "100" }, { interceptors: [slot.interceptor] });
  });
  afterEach(async () => {
    for (const abort of aborts.splice(0)) abort.abort();
    await waitFor(() => gateway.app.market.hub.subscriptionCount === 0, 5000, "every subscription released");
  });
  after(() => gateway.close());

  function open(path: string, headers: Record<string, string> = {}): Promise<Response> {
    const abort = new AbortController();
    aborts.push(abort);
    return fetch(`${gateway.baseUrl}${path}`, { headers, signal: abort.signal });
  }

  async function publish(symbolId: number, ltp: number): Promise<void> {
    const response = await fetch(`${gateway.baseUrl}/v1/ticks`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ ticks: [{ symbolId, ltp }] }),
    });
    assert.equal(response.status, 200);
  }

  it("streams snapshots as Server-Sent Events, then live updates", async () => {
    const response = await open("/v1/snapshots:stream?symbol_ids=13&symbol_ids=25", { accept: "text/event-stream" });
    assert.equal(response.status, 200);
    assert.match(response.headers.get("content-type") ?? "", /^text\/event-stream/);
    assert.equal(response.headers.get("cache-control"), "no-cache");
    const events = sse(response);
    await events.waitFor((e) => e.filter((x) => data(x).snapshot).length >= 2, "the current snapshots");
    const first = events.items.filter((x) => data(x).snapshot).map((x) => data(x).snapshot.symbolId);
    assert.deepEqual(first.sort(), [13, 25]);
    // Default event type, so a browser EventSource's onmessage sees them.
    assert.ok(events.items.every((e) => e.event === undefined));

    await publish(13, 24400.5);
    await events.waitFor((e) => e.some((x) => data(x).snapshot?.ltp === 24400.5), "the published update");
  });

  it("gives every snapshot event the id <symbol>.<sequence>, and asks EventSource to retry soon", async () => {
    const response = await open("/v1/snapshots:stream?symbol_ids=13&symbol_ids=25", { accept: "text/event-stream" });
    const reader = response.body!.getReader();
    const { value } = await reader.read();
    assert.match(Buffer.from(value!).toString(), /^retry: 1000\n\n/);
    await reader.cancel();

    const events = sse(await open("/v1/snapshots:stream?symbol_ids=13&symbol_ids=25", { accept: "text/event-stream" }));
    await events.waitFor((e) => e.length >= 2, "the current snapshots");
    await publish(25, 52001);
    await publish(25, 52002);
    await events.waitFor((e) => e.some((x) => data(x).snapshot?.ltp === 52002), "the updates");
    for (const event of events.items) {
      const { symbolId, sequence } = data(event).snapshot;
      assert.equal(event.id, `${symbolId}.${sequence}`);
    }
  });

  it("sends no id with a heartbeat, so Last-Event-ID stays the last snapshot's", async () => {
    const events = sse(await open("/v1/snapshots:stream?symbol_ids=27", { accept: "text/event-stream" }));
    await events.waitFor((e) => e.some((x) => data(x).heartbeat !== undefined), "a heartbeat");
    const beat = events.items.find((x) => data(x).heartbeat !== undefined)!;
    assert.equal(beat.id, undefined);
  });

  it("resumes from Last-Event-ID: the last symbol seen is sent again only if its sequence moved", async () => {
    const current = (await (await fetch(`${gateway.baseUrl}/v1/snapshots/13`)).json()) as { sequence: string };
    const unmoved = sse(
      await open("/v1/snapshots:stream?symbol_ids=13&symbol_ids=25", { accept: "text/event-stream", "last-event-id": `13.${current.sequence}` }),
    );
    await unmoved.waitFor((e) => e.length >= 1, "the snapshot of 25");
    await publish(25, 52003);
    await unmoved.waitFor((e) => e.some((x) => data(x).snapshot?.ltp === 52003), "the update of 25");
    assert.deepEqual(new Set(unmoved.items.map((x) => data(x).snapshot.symbolId)), new Set([25]));
    // Later updates of the resumed symbol flow as usual.
    await publish(13, 24361);
    await unmoved.waitFor((e) => e.some((x) => data(x).snapshot?.ltp === 24361), "the update of 13");

    const moved = sse(
      await open("/v1/snapshots:stream?symbol_ids=13&symbol_ids=25", { accept: "text/event-stream", "last-event-id": `13.${current.sequence}` }),
    );
    await moved.waitFor((e) => e.length >= 2, "both snapshots");
    assert.deepEqual(moved.items.map((x) => data(x).snapshot.symbolId).sort(), [13, 25]);
    assert.equal(moved.items.find((x) => data(x).snapshot.symbolId === 13)!.id, `13.${BigInt(current.sequence) + 1n}`);

    // An id the gateway did not write resumes like a new stream.
    const foreign = sse(await open("/v1/snapshots:stream?symbol_ids=13&symbol_ids=25", { accept: "text/event-stream", "last-event-id": "abc" }));
    await foreign.waitFor((e) => e.length >= 2, "both snapshots");
  });

  it("sends heartbeats on a quiet stream", async () => {
    const events = sse(await open("/v1/snapshots:stream?symbol_ids=27", { accept: "text/event-stream" }));
    await events.waitFor((e) => e.some((x) => data(x).heartbeat !== undefined), "a heartbeat");
    const beat = events.items.map(data).find((x) => x.heartbeat !== undefined);
    assert.match(beat.heartbeat.serverTime, /^\d{4}-\d\d-\d\dT.*Z$/);
  });

  it("releases the subscription as soon as an SSE client disconnects", async () => {
    const abort = new AbortController();
    const response = await fetch(`${gateway.baseUrl}/v1/snapshots:stream?symbol_ids=13&symbol_ids=25&symbol_ids=27`, {
      headers: { accept: "text/event-stream" },
      signal: abort.signal,
    });
    const events = sse(response);
    await events.waitFor((e) => e.length >= 3, "the current snapshots");
    assert.equal(gateway.app.market.hub.subscriptionCount, 3);
    abort.abort();
    await waitFor(() => gateway.app.market.hub.subscriptionCount === 0, 5000, "the subscription released");
  });

  it("streams newline-delimited JSON to callers that do not ask for SSE", async () => {
    const response = await open("/v1/snapshots:stream?symbol_ids=25");
    assert.equal(response.status, 200);
    assert.match(response.headers.get("content-type") ?? "", /^application\/x-ndjson/);
    const lines = ndjson(response);
    await lines.waitFor((l) => l.length >= 1, "the first line");
    assert.equal(lines.items[0].result.snapshot.symbolId, 25);
    await publish(25, 52222);
    await lines.waitFor((l) => l.some((x) => x.result?.snapshot?.ltp === 52222), "the update");
    assert.equal(gateway.app.market.hub.subscriberCount(25), 1);
  });

  it("streams to curl -N over HTTP/1.1 and HTTP/2 and lets go when curl exits", async () => {
    for (const version of ["--http1.1", "--http2-prior-knowledge"]) {
      const curl = spawn("curl", ["-s", "-N", version, "-H", "Accept: text/event-stream", `${gateway.baseUrl}/v1/snapshots:stream?symbol_ids=13`]);
      let out = "";
      curl.stdout.on("data", (chunk: Buffer) => (out += chunk.toString()));
      try {
        await waitFor(() => out.includes("data:"), 5000, `an event through curl ${version}`);
        assert.match(out, /^retry: \d+\n\nid: 13\.\d+\ndata: \{"snapshot":\{"symbolId":13,/);
        assert.equal(gateway.app.market.hub.subscriberCount(13), 1);
      } finally {
        curl.kill();
      }
      await waitFor(() => gateway.app.market.hub.subscriptionCount === 0, 5000, `release after curl ${version} exits`);
    }
  });

  it("answers a stream that fails at once with its HTTP status and JSON error", async () => {
    const unknown = await open("/v1/snapshots:stream?symbol_ids=13&symbol_ids=999", { accept: "text/event-stream" });
    assert.equal(unknown.status, 404);
    assert.equal((await unknown.json()).code, "not_found");
    const empty = await open("/v1/snapshots:stream", { accept: "text/event-stream" });
    assert.equal(empty.status, 400);
    assert.equal((await empty.json()).code, "invalid_argument");
    const bad = await open("/v1/snapshots:stream?symbol_ids=x");
    assert.equal(bad.status, 400);
  });

  it("ends a stream at its deadline with deadline_exceeded", async () => {
    const response = await open("/v1/snapshots:stream?symbol_ids=13", { accept: "text/event-stream", "connect-timeout-ms": "500" });
    if (response.status === 504) {
      // A loaded machine may pass the deadline before the first message.
      assert.equal((await response.json()).code, "deadline_exceeded");
    } else {
      assert.equal(response.status, 200);
      const events = sse(response);
      await events.done;
      const last = events.items.at(-1)!;
      assert.equal(last.event, "error");
      assert.equal(data(last).code, "deadline_exceeded");
    }
    await waitFor(() => gateway.app.market.hub.subscriptionCount === 0, 5000, "the subscription released");
  });

  describe("errors after the stream started", () => {
    let failAfterFirst: Interceptor;
    before(() => {
      // Ends every stream with UNAVAILABLE after its first message, the way a
      // lost store would.
      failAfterFirst = (next) => async (request) => {
        const response = await next(request);
        if (!response.stream) return response;
        const message = (async function* () {
          for await (const item of (response as StreamResponse).message) {
            yield item;
            throw new ConnectError("store went away", Code.Unavailable);
          }
        })();
        return { ...response, message } as StreamResponse;
      };
      slot.plug(failAfterFirst);
    });
    after(() => slot.unplug(failAfterFirst));

    it("end an SSE stream with an error event", async () => {
      const events = sse(await open("/v1/snapshots:stream?symbol_ids=13", { accept: "text/event-stream" }));
      await events.done;
      assert.equal(events.items.length, 2);
      assert.equal(data(events.items[0]!).snapshot.symbolId, 13);
      assert.equal(events.items[1]!.event, "error");
      assert.deepEqual(data(events.items[1]!), { code: "unavailable", message: "store went away", details: [] });
    });

    it("end an NDJSON stream with an error line", async () => {
      const lines = ndjson(await open("/v1/snapshots:stream?symbol_ids=13"));
      await lines.done;
      assert.equal(lines.items.length, 2);
      assert.deepEqual(lines.items[1], { error: { code: "unavailable", message: "store went away", details: [] } });
    });
  });
});

describe("REST server streaming on shutdown", () => {
  it("ends open streams with UNAVAILABLE so that the gateway can close", { timeout: 20_000 }, async () => {
    const gateway = await startGateway();
    try {
      const response = await fetch(`${gateway.baseUrl}/v1/snapshots:stream?symbol_ids=13`, { headers: { accept: "text/event-stream" } });
      const events = sse(response);
      await events.waitFor((e) => e.length >= 1, "the first snapshot");
      await gateway.close();
      await events.done;
      const last = events.items.at(-1)!;
      assert.equal(last.event, "error");
      assert.equal(data(last).code, "unavailable");
      assert.equal(gateway.app.market.hub.subscriptionCount, 0);
    } finally {
      await gateway.close();
    }
  });
});

import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { after, afterEach, before, describe, it } from "node:test";
import { promisify } from "node:util";
import { Code, ConnectError, type Interceptor } from "@connectrpc/connect";
import { callProtocol } from "../../src/pipeline/call-protocol.js";
import { startGateway, type TestGateway } from "../support/gateway.js";
import { InterceptorSlot } from "../support/interceptor-slot.js";

const run = promisify(execFile);

interface ErrorBody {
  code: string;
  message: string;
  details: unknown[];
}

async function getJson(url: string, init?: RequestInit): Promise<{ status: number; headers: Headers; body: any }> {
  const response = await fetch(url, init);
  const text = await response.text();
  return { status: response.status, headers: response.headers, body: text === "" ? undefined : JSON.parse(text) };
}

function postJson(url: string, body: unknown, headers: Record<string, string> = {}) {
  return getJson(url, {
    method: "POST",
    headers: { "content-type": "application/json", ...headers },
    body: typeof body === "string" ? body : JSON.stringify(body),
  });
}

function assertError(result: { status: number; body: ErrorBody }, status: number, code: string, message?: RegExp) {
  assert.equal(result.status, status, JSON.stringify(result.body));
  assert.equal(result.body.code, code);
  assert.equal(typeof result.body.message, "string");
  assert.ok(Array.isArray(result.body.details));
  if (message !== undefined) assert.match(result.body.message, message);
}

describe("REST transcoder", () => {
  let gateway: TestGateway;
  const slot = new InterceptorSlot();
  before(async () => {
    // A 1 MiB limit, so the oversized-body case stays small.
    gateway = await startGateway({ MAX_MESSAGE_BYTES: String(1024 * 1024) }, { interceptors: [slot.interceptor] });
  });
  after(() => gateway.close());

  describe("bindings", () => {
    it("GET /v1/snapshots/{symbol_id} returns the snapshot itself", async () => {
      const { status, headers, body } = await getJson(`${gateway.baseUrl}/v1/snapshots/13`);
      assert.equal(status, 200);
      assert.match(headers.get("content-type") ?? "", /^application\/json/);
      assert.equal(body.symbolId, 13);
      assert.equal(body.symbol, "NIFTY 50");
      assert.equal(body.ltp, 24350);
      // proto3 JSON: 64-bit integers are strings, timestamps RFC 3339.
      assert.equal(body.volume, "100");
      assert.equal(typeof body.sequence, "string");
      assert.match(body.exchangeTime, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/);
    });

    it("serves the legacy GET /snapshot/{symbol_id} from the same handler", async () => {
      const legacy = await getJson(`${gateway.baseUrl}/snapshot/25`);
      const current = await getJson(`${gateway.baseUrl}/v1/snapshots/25`);
      assert.equal(legacy.status, 200);
      assert.deepEqual(legacy.body, current.body);
    });

    it("GET /v1/snapshots takes repeated symbol_ids from the query, by proto or JSON name", async () => {
      const { status, body } = await getJson(`${gateway.baseUrl}/v1/snapshots?symbol_ids=13&symbol_ids=25&symbolIds=999`);
      assert.equal(status, 200);
      assert.deepEqual(Object.keys(body.snapshots).sort(), ["13", "25"]);
      assert.equal(body.snapshots["25"].symbol, "BANK NIFTY");
      assert.deepEqual(body.missingSymbolIds, [999]);
    });

    it("POST /v1/snapshots:batchGet takes the request from the JSON body", async () => {
      const { status, body } = await postJson(`${gateway.baseUrl}/v1/snapshots:batchGet`, { symbolIds: [27, 13] });
      assert.equal(status, 200);
      assert.deepEqual(Object.keys(body.snapshots).sort(), ["13", "27"]);
      assert.deepEqual(body.missingSymbolIds, []);
    });

    it("POST /v1/ticks writes ticks that GET then reads", async () => {
      const { status, body } = await postJson(`${gateway.baseUrl}/v1/ticks`, {
        ticks: [{ symbolId: 27, ltp: 23900.5, volume: "5" }],
      });
      assert.equal(status, 200);
      assert.equal(body.acceptedCount, 1);
      assert.match(body.sequences["27"], /^\d+$/);
      const read = await getJson(`${gateway.baseUrl}/v1/snapshots/27`);
      assert.equal(read.body.ltp, 23900.5);
      assert.equal(read.body.sequence, body.sequences["27"]);
    });

    it("GET /v1/symbols lists the symbols", async () => {
      const { status, body } = await getJson(`${gateway.baseUrl}/v1/symbols`);
      assert.equal(status, 200);
      assert.deepEqual(
        body.symbols.filter((s: { symbolId: number }) => s.symbolId <= 27),
        [
          { symbolId: 13, symbol: "NIFTY 50" },
          { symbolId: 25, symbol: "BANK NIFTY" },
          { symbolId: 27, symbol: "FIN NIFTY" },
        ],
      );
    });

    it("answers curl over HTTP/1.1 and HTTP/2", async () => {
      for (const version of ["--http1.1", "--http2-prior-knowledge"]) {
        const { stdout } = await run("curl", ["-s", "-w", "\\n%{http_code} %{http_version}", version, `${gateway.baseUrl}/v1/snapshots/13`]);
        const [json, status] = stdout.split("\n");
        assert.equal(JSON.parse(json!).symbolId, 13);
        assert.equal(status, version === "--http1.1" ? "200 1.1" : "200 2");
      }
    });
  });

  describe("errors", () => {
    it("unknown symbol is 404 with a JSON error", async () => {
      assertError(await getJson(`${gateway.baseUrl}/v1/snapshots/999`), 404, "not_found", /999/);
    });

    it("symbol 0 is 400 from the handler", async () => {
      assertError(await getJson(`${gateway.baseUrl}/v1/snapshots/0`), 400, "invalid_argument", /must not be 0/);
    });

    it("non-numeric, negative, too large and %2F path values are 400", async () => {
      for (const value of ["abc", "-1", "4294967296", "1.5", "1%2F3", "%F0%9F%93%88"]) {
        const result = await getJson(`${gateway.baseUrl}/v1/snapshots/${value}`);
        assertError(result, 400, "invalid_argument");
      }
      // Fastify itself rejects broken percent-encoding before routing.
      assert.equal((await fetch(`${gateway.baseUrl}/v1/snapshots/%E0%A4%A`)).status, 400);
    });

    it("unknown, misplaced and malformed query parameters are 400", async () => {
      assertError(await getJson(`${gateway.baseUrl}/v1/snapshots?symbol_ids=13&foo=1`), 400, "invalid_argument", /unknown query parameter foo/);
      assertError(await getJson(`${gateway.baseUrl}/v1/snapshots/13?symbol_id=25`), 400, "invalid_argument", /already set by the path/);
      assertError(await getJson(`${gateway.baseUrl}/v1/snapshots?symbol_ids=x`), 400, "invalid_argument", /not a uint32/);
      assertError(await getJson(`${gateway.baseUrl}/v1/symbols?verbose=true`), 400, "invalid_argument", /verbose/);
    });

    it("a body route rejects query parameters", async () => {
      const result = await postJson(`${gateway.baseUrl}/v1/snapshots:batchGet?symbol_ids=13`, { symbolIds: [13] });
      assertError(result, 400, "invalid_argument", /body/);
    });

    it("malformed JSON, non-object bodies and unknown fields are 400", async () => {
      assertError(await postJson(`${gateway.baseUrl}/v1/ticks`, '{"ticks": ['), 400, "invalid_argument", /not valid JSON/);
      assertError(await postJson(`${gateway.baseUrl}/v1/ticks`, "[1,2]"), 400, "invalid_argument", /JSON object/);
      assertError(await postJson(`${gateway.baseUrl}/v1/ticks`, { tickz: [] }), 400, "invalid_argument", /tickz/);
      assertError(
        await postJson(`${gateway.baseUrl}/v1/ticks`, { ticks: [{ symbolId: 13, ltp: "cheap" }] }),
        400,
        "invalid_argument",
      );
    });

    it("invalid ticks are 400 from the handler", async () => {
      assertError(await postJson(`${gateway.baseUrl}/v1/ticks`, { ticks: [{ symbolId: 13, ltp: -1 }] }), 400, "invalid_argument");
    });

    it("a body that is not JSON is 415", async () => {
      const result = await getJson(`${gateway.baseUrl}/v1/ticks`, {
        method: "POST",
        headers: { "content-type": "text/plain" },
        body: "ticks",
      });
      assertError(result, 415, "invalid_argument", /application\/json/);
    });

    it("a wrong method is 405 with Allow", async () => {
      const del = await getJson(`${gateway.baseUrl}/v1/snapshots/13`, { method: "DELETE" });
      assertError(del, 405, "unimplemented");
      assert.equal(del.headers.get("allow"), "GET, HEAD");
      const get = await getJson(`${gateway.baseUrl}/v1/ticks`);
      assertError(get, 405, "unimplemented");
      assert.equal(get.headers.get("allow"), "POST");
    });

    it("an unmatched path under a REST prefix is 404 with a JSON error", async () => {
      assertError(await getJson(`${gateway.baseUrl}/v1/snapshots/13/extra`), 404, "not_found");
    });

    it("an oversized body is 413, and the server keeps serving", async () => {
      const big = JSON.stringify({ ticks: Array.from({ length: 40_000 }, () => ({ symbolId: 13, ltp: 24350.25 })) });
      assert.ok(big.length > 1024 * 1024);
      assertError(await postJson(`${gateway.baseUrl}/v1/ticks`, big), 413, "resource_exhausted", /larger than/);
      assert.equal((await getJson(`${gateway.baseUrl}/v1/snapshots/13`)).status, 200);
    });

    it("a very long path is answered, not crashed on", async () => {
      const result = await getJson(`${gateway.baseUrl}/v1/snapshots/${"9".repeat(4000)}`);
      assert.ok(result.status === 400 || result.status === 404 || result.status === 414, String(result.status));
      assert.equal((await getJson(`${gateway.baseUrl}/v1/snapshots/13`)).status, 200);
    });
  });

  describe("call pipeline", () => {
    const added: Interceptor[] = [];
    afterEach(() => {
      for (const interceptor of added.splice(0)) slot.unplug(interceptor);
    });
    function use(interceptor: Interceptor) {
      added.push(interceptor);
      slot.plug(interceptor);
    }

    it("runs the shared interceptors with the caller's headers and the rest protocol", async () => {
      const seen: Array<{ protocol: string; authorization: string | null; method: string }> = [];
      use((next) => async (request) => {
        seen.push({
          protocol: callProtocol(request),
          authorization: request.header.get("authorization"),
          method: request.method.name,
        });
        return next(request);
      });
      const { status } = await getJson(`${gateway.baseUrl}/v1/snapshots/13`, { headers: { authorization: "Bearer t0ken" } });
      assert.equal(status, 200);
      assert.deepEqual(seen, [{ protocol: "rest", authorization: "Bearer t0ken", method: "GetSnapshot" }]);
    });

    it("maps UNAUTHENTICATED from an interceptor to 401 with WWW-Authenticate", async () => {
      use((next) => async (request) => {
        if (request.header.get("authorization") !== "Bearer good") {
          throw new ConnectError("missing or bad token", Code.Unauthenticated);
        }
        return next(request);
      });
      const denied = await getJson(`${gateway.baseUrl}/v1/snapshots/13`);
      assertError(denied, 401, "unauthenticated", /token/);
      assert.equal(denied.headers.get("www-authenticate"), "Bearer");
      const allowed = await getJson(`${gateway.baseUrl}/v1/snapshots/13`, { headers: { authorization: "Bearer good" } });
      assert.equal(allowed.status, 200);
    });

    it("maps every gRPC code to the standard HTTP status", async () => {
      const table: Array<[Code, number, string]> = [
        [Code.InvalidArgument, 400, "invalid_argument"],
        [Code.FailedPrecondition, 400, "failed_precondition"],
        [Code.OutOfRange, 400, "out_of_range"],
        [Code.Unauthenticated, 401, "unauthenticated"],
        [Code.PermissionDenied, 403, "permission_denied"],
        [Code.NotFound, 404, "not_found"],
        [Code.AlreadyExists, 409, "already_exists"],
        [Code.Aborted, 409, "aborted"],
        [Code.ResourceExhausted, 429, "resource_exhausted"],
        [Code.Canceled, 499, "canceled"],
        [Code.Unknown, 500, "unknown"],
        [Code.Internal, 500, "internal"],
        [Code.DataLoss, 500, "data_loss"],
        [Code.Unimplemented, 501, "unimplemented"],
        [Code.Unavailable, 503, "unavailable"],
        [Code.DeadlineExceeded, 504, "deadline_exceeded"],
      ];
      use(() => async (request) => {
        throw new ConnectError("refused", Number(request.header.get("x-code")) as Code, { "retry-after": "7" });
      });
      for (const [code, status, name] of table) {
        const result = await getJson(`${gateway.baseUrl}/v1/symbols`, { headers: { "x-code": String(code) } });
        assertError(result, status, name, /refused/);
        // Error metadata reaches the caller as headers.
        assert.equal(result.headers.get("retry-after"), "7");
      }
    });

    it("reports unexpected errors as 500 internal without their message", async () => {
      use(() => async () => {
        throw new Error("secret database password in here");
      });
      const result = await getJson(`${gateway.baseUrl}/v1/symbols`);
      assertError(result, 500, "internal");
      assert.doesNotMatch(result.body.message, /secret/);
    });

    it("gives the call a deadline from the timeout header: 504 when it passes", async () => {
      use((next) => async (request) => {
        if (request.header.get("x-hang") === null) return next(request);
        await new Promise((_, reject) => {
          request.signal.addEventListener("abort", () => reject(request.signal.reason as Error), { once: true });
        });
        return next(request);
      });
      const result = await getJson(`${gateway.baseUrl}/v1/symbols`, { headers: { "x-hang": "1", "connect-timeout-ms": "50" } });
      assertError(result, 504, "deadline_exceeded");
      const bad = await getJson(`${gateway.baseUrl}/v1/symbols`, { headers: { "connect-timeout-ms": "soon" } });
      assertError(bad, 400, "invalid_argument");
    });
  });
});

describe("REST transcoder with bearer-token auth on", () => {
  let gateway: TestGateway;
  before(async () => {
    gateway = await startGateway({ AUTH_TOKENS: "reader-1:read,writer-1:read+write" });
  });
  after(() => gateway.close());

  const tick = { ticks: [{ symbolId: 13, ltp: 24360 }] };

  it("refuses a call without a token with 401 and a Bearer challenge", async () => {
    const result = await getJson(`${gateway.baseUrl}/v1/snapshots/13`);
    assertError(result, 401, "unauthenticated");
    assert.match(result.headers.get("www-authenticate") ?? "", /^Bearer/);
  });

  it("admits a read token to reads and refuses it writes with 403", async () => {
    const auth = { authorization: "Bearer reader-1" };
    assert.equal((await getJson(`${gateway.baseUrl}/v1/snapshots/13`, { headers: auth })).status, 200);
    assertError(await postJson(`${gateway.baseUrl}/v1/ticks`, tick, auth), 403, "permission_denied");
    assert.equal((await postJson(`${gateway.baseUrl}/v1/ticks`, tick, { authorization: "Bearer writer-1" })).status, 200);
  });

  it("checks the token of a stream before it starts", async () => {
    const denied = await fetch(`${gateway.baseUrl}/v1/snapshots:stream?symbol_ids=13`, { headers: { accept: "text/event-stream" } });
    assert.equal(denied.status, 401);
    assert.equal((await denied.json()).code, "unauthenticated");
  });
});

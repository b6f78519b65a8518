import assert from "node:assert/strict";
import * as http2 from "node:http2";
import { after, before, it } from "node:test";
import type { Tick } from "../../src/market/snapshot.js";
import { startGateway, type TestGateway } from "./gateway.js";
import { comparable, h2Call, h2Comparable, http1Request, rawHttp1, type HttpCase } from "./raw-http.js";

/**
 * LaneCase is one request a lane and the path it stands in for must
 * answer alike.
 */
export interface LaneCase extends HttpCase {
  name: string;
  /** False when the request is not one the lane takes (the other path answers on both). Default true. */
  lane?: boolean;
}

/**
 * LaneDifferentialOptions say which two gateways are compared: one as it
 * ships and one with the lane switched off, both seeded alike.
 */
export interface LaneDifferentialOptions {
  env: Record<string, string>;
  seed: Tick[];
  /** The environment that switches the lane off, on top of `env`. */
  laneOff: Record<string, string>;
  cases: readonly LaneCase[];
  /** The request ids the lane gives the calls it serves (Fastify's are `req-N`). */
  laneRequestId: RegExp;
}

/**
 * LaneDifferential is what the tests of a differential suite may use
 * besides its cases: the gateway with the lane, and an HTTP/2 session to it.
 */
export interface LaneDifferential {
  lean: TestGateway;
  leanH2: http2.ClientHttp2Session;
}

/**
 * laneDifferential registers, in the describe it is called from, the two
 * gateways and two tests per case: the same request bytes to both, over a
 * raw HTTP/1.1 socket and over HTTP/2, must get the same answer byte for
 * byte (the date and the request id aside), and the request id must tell
 * which side served the call. The returned function gives the lane's
 * gateway to further tests, once started.
 */
export function laneDifferential(options: LaneDifferentialOptions): () => LaneDifferential {
  let lean: TestGateway;
  let other: TestGateway;
  let leanH2: http2.ClientHttp2Session;
  let otherH2: http2.ClientHttp2Session;
  before(async () => {
    lean = await startGateway(options.env, { seed: options.seed });
    other = await startGateway({ ...options.env, ...options.laneOff }, { seed: options.seed });
    leanH2 = http2.connect(lean.baseUrl);
    otherH2 = http2.connect(other.baseUrl);
  });
  after(async () => {
    leanH2.close();
    otherH2.close();
    await Promise.all([lean.close(), other.close()]);
  });

  for (const c of options.cases) {
    it(`answer byte for byte alike over HTTP/1.1: ${c.name}`, async () => {
      const [ours, theirs] = await Promise.all([
        rawHttp1(lean.port, http1Request(c, lean.port)).then(comparable),
        rawHttp1(other.port, http1Request(c, other.port)).then(comparable),
      ]);
      // A call's URL may be echoed (in an error, say): the ports differ.
      assert.equal(ours.head.replace(`127.0.0.1:${lean.port}`, "host"), theirs.head.replace(`127.0.0.1:${other.port}`, "host"));
      assert.deepEqual(ours.body, theirs.body);
      assertServedBy(c, options.laneRequestId, ours.requestId, theirs.requestId);
    });

    it(`answer alike over HTTP/2: ${c.name}`, async () => {
      const [ours, theirs] = await Promise.all([h2Call(leanH2, c).then(h2Comparable), h2Call(otherH2, c).then(h2Comparable)]);
      assert.deepEqual(ours.headers, theirs.headers);
      assert.deepEqual(ours.body, theirs.body);
      assertServedBy(c, options.laneRequestId, ours.requestId, theirs.requestId);
    });
  }
  return () => ({ lean, leanH2 });
}

// The lane names the calls it serves itself; Fastify's ids are its own.
function assertServedBy(c: LaneCase, laneRequestId: RegExp, ours: unknown, theirs: unknown): void {
  const callers = c.headers?.["x-request-id"];
  if (callers !== undefined) {
    assert.equal(ours, callers);
    assert.equal(theirs, callers);
    return;
  }
  assert.match(String(theirs), /^req-/);
  assert.match(String(ours), c.lane === false ? /^req-/ : laneRequestId, "which side answered");
}

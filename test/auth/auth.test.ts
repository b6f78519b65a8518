import assert from "node:assert/strict";
import { unwatchFile, watchFile } from "node:fs";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import * as grpc from "@grpc/grpc-js";
import { create } from "@bufbuild/protobuf";
import { Code, createClient, type Client } from "@connectrpc/connect";
import { ConfigError, loadConfig } from "../../src/config.js";
import { GetSnapshotRequestSchema, MarketDataService } from "../../src/gen/stockify/v1/market_data_service_pb.js";
import { MarketFeedService, PublishTicksRequestSchema } from "../../src/gen/stockify/v1/market_feed_service_pb.js";
import { buildApp } from "../../src/app.js";
import { expectCode } from "../support/expect-code.js";
import { startGateway, type TestGateway } from "../support/gateway.js";
import { grpcJsUnary } from "../support/grpc-js-client.js";
import { GRPC_LANES } from "../support/grpc-lanes.js";
import { TRANSPORTS } from "../support/transports.js";

const TOKENS = "reader-secret:read,writer-secret:read+write,feeder-secret:write";

/** Call options that send `authorization: Bearer <token>`. */
const bearer = (token: string) => ({ headers: { authorization: `Bearer ${token}` } });

for (const lane of GRPC_LANES) describe(`bearer-token auth (${lane.name})`, () => {
  let gateway: TestGateway;
  before(async () => {
    gateway = await startGateway({ ...lane.env, AUTH_TOKENS: TOKENS });
  });
  after(() => gateway.close());

  for (const transport of TRANSPORTS) {
    describe(`over ${transport.name}`, () => {
      let data: Client<typeof MarketDataService>;
      let feed: Client<typeof MarketFeedService>;
      before(() => {
        data = createClient(MarketDataService, transport.create(gateway.baseUrl));
        feed = createClient(MarketFeedService, transport.create(gateway.baseUrl));
      });

      it("refuses a call without a token or with an unknown one as UNAUTHENTICATED", async () => {
        const missing = await expectCode(data.getSnapshot({ symbolId: 13 }), Code.Unauthenticated);
        assert.match(missing.rawMessage, /missing bearer token/);
        const wrong = await expectCode(data.getSnapshot({ symbolId: 13 }, bearer("guessed-secret")), Code.Unauthenticated);
        assert.match(wrong.rawMessage, /invalid bearer token/);
        assert.ok(!wrong.message.includes("guessed-secret"), "the error quotes the token");
      });

      it("refuses a stream without a token", async () => {
        await expectCode(
          (async () => {
            for await (const _ of data.subscribeSnapshots({ symbolIds: [13] })) assert.fail("a message arrived");
          })(),
          Code.Unauthenticated,
        );
      });

      it("serves each service to tokens with its scope and PERMISSION_DENIED to others", async () => {
        assert.equal((await data.getSnapshot({ symbolId: 13 }, bearer("reader-secret"))).snapshot?.symbolId, 13);
        await expectCode(feed.publishTicks({ ticks: [{ symbolId: 13, ltp: 24351 }] }, bearer("reader-secret")), Code.PermissionDenied);
        assert.equal((await feed.publishTicks({ ticks: [{ symbolId: 13, ltp: 24352 }] }, bearer("writer-secret"))).acceptedCount, 1);
        assert.equal((await data.getSnapshot({ symbolId: 13 }, bearer("writer-secret"))).snapshot?.ltp, 24352);
        await expectCode(data.getSnapshot({ symbolId: 13 }, bearer("feeder-secret")), Code.PermissionDenied);
      });
    });
  }

  describe("with @grpc/grpc-js", () => {
    let client: grpc.Client;
    before(() => {
      client = new grpc.Client(`127.0.0.1:${gateway.port}`, grpc.credentials.createInsecure());
    });
    after(() => client.close());
    const metadata = (token?: string) => {
      const m = new grpc.Metadata();
      if (token !== undefined) m.set("authorization", `Bearer ${token}`);
      return m;
    };
    const getSnapshot = (token?: string) =>
      grpcJsUnary(client, MarketDataService.method.getSnapshot, create(GetSnapshotRequestSchema, { symbolId: 25 }), metadata(token));
    const failure = (promise: Promise<unknown>) =>
      promise.then(
        () => assert.fail("the call succeeded"),
        (e: grpc.ServiceError) => e,
      );

    it("gets UNAUTHENTICATED without a valid token and PERMISSION_DENIED without the scope", async () => {
      assert.equal((await failure(getSnapshot())).code, grpc.status.UNAUTHENTICATED);
      assert.equal((await failure(getSnapshot("reader-secret-"))).code, grpc.status.UNAUTHENTICATED);
      const publish = grpcJsUnary(
        client,
        MarketFeedService.method.publishTicks,
        create(PublishTicksRequestSchema, { ticks: [{ symbolId: 25, ltp: 52101 }] }),
        metadata("reader-secret"),
      );
      assert.equal((await failure(publish)).code, grpc.status.PERMISSION_DENIED);
    });

    it("is served with a token that has the scope", async () => {
      assert.equal((await getSnapshot("reader-secret")).snapshot?.symbol, "BANK NIFTY");
    });
  });

  it("answers a Connect call without a token with HTTP 401 and a WWW-Authenticate challenge", async () => {
    const url = `${gateway.baseUrl}/stockify.v1.MarketDataService/GetSnapshot`;
    const init = { method: "POST", headers: { "content-type": "application/json" }, body: '{"symbolId":13}' };
    const missing = await fetch(url, init);
    assert.equal(missing.status, 401);
    assert.equal(missing.headers.get("www-authenticate"), 'Bearer realm="stockify"');
    assert.equal(((await missing.json()) as { code: string }).code, "unauthenticated");
    const denied = await fetch(url, { ...init, headers: { ...init.headers, authorization: "Bearer feeder-secret" } });
    assert.equal(denied.status, 403);
    assert.match(denied.headers.get("www-authenticate") ?? "", /error="insufficient_scope", scope="read"/);
    const allowed = await fetch(url, { ...init, headers: { ...init.headers, authorization: "bearer reader-secret" } });
    assert.equal(allowed.status, 200);
  });

  it("answers REST callers with 401 + WWW-Authenticate, 403 without the scope, 200 with it", async () => {
    const url = `${gateway.baseUrl}/v1/snapshots/13`;
    const missing = await fetch(url);
    assert.equal(missing.status, 401);
    assert.match(missing.headers.get("www-authenticate") ?? "", /^Bearer realm="stockify"/);
    assert.equal(((await missing.json()) as { code: string }).code, "unauthenticated");
    assert.equal((await fetch(url, { headers: { authorization: "Bearer nobody" } })).status, 401);
    const publish = await fetch(`${gateway.baseUrl}/v1/ticks`, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: "Bearer reader-secret" },
      body: '{"ticks": [{"symbolId": 13, "ltp": 24353}]}',
    });
    assert.equal(publish.status, 403);
    const allowed = await fetch(url, { headers: { authorization: "Bearer reader-secret" } });
    assert.equal(allowed.status, 200);
    assert.equal(((await allowed.json()) as { symbolId: number }).symbolId, 13);
  });
});

for (const lane of GRPC_LANES) describe(`auth configuration (${lane.name})`, () => {
  it("leaves services listed in AUTH_OPEN_SERVICES open", async () => {
    const gateway = await startGateway({ ...lane.env, AUTH_TOKENS: TOKENS, AUTH_OPEN_SERVICES: "stockify.v1.MarketDataService" });
    try {
      const transport = TRANSPORTS[0]!.create(gateway.baseUrl);
      assert.equal((await createClient(MarketDataService, transport).getSnapshot({ symbolId: 27 })).snapshot?.symbolId, 27);
      await expectCode(createClient(MarketFeedService, transport).publishTicks({ ticks: [] }), Code.Unauthenticated);
    } finally {
      await gateway.close();
    }
  });

  it("reads tokens from AUTH_TOKENS_FILE as well as AUTH_TOKENS", async () => {
    const dir = await mkdtemp(join(tmpdir(), "stockify-auth-"));
    try {
      const file = join(dir, "tokens");
      await writeFile(file, "# rotated monthly\nfile-secret:read+write\n");
      const config = loadConfig({ AUTH_TOKENS: "env-secret:read", AUTH_TOKENS_FILE: file });
      assert.deepEqual(
        config.auth.tokens.map((grant) => grant.token),
        ["env-secret", "file-secret"],
      );
      assert.throws(() => loadConfig({ AUTH_TOKENS_FILE: join(dir, "absent") }), /AUTH_TOKENS_FILE names a file that cannot be read: ENOENT/);
      assert.throws(() => loadConfig({ AUTH_TOKENS: "file-secret:read", AUTH_TOKENS_FILE: file }), /AUTH_TOKENS_FILE repeats a token/);
    } finally {
      await rm(dir, { recursive: true });
    }
  });

  it("picks up a rotated AUTH_TOKENS_FILE without a restart, and keeps the tokens in force when the file breaks", async () => {
    const dir = await mkdtemp(join(tmpdir(), "stockify-auth-"));
    const file = join(dir, "tokens");
    await writeFile(file, "old-secret:read\n");
    const gateway = await startGateway({ ...lane.env, AUTH_TOKENS_FILE: file });
    try {
      const client = createClient(MarketDataService, TRANSPORTS[0]!.create(gateway.baseUrl));
      const works = (token: string) =>
        client.getSnapshot({ symbolId: 13 }, bearer(token)).then(
          () => true,
          () => false,
        );
      assert.equal(await works("old-secret"), true);
      await writeFile(file, "# rotated\nnew-secret:read\n");
      await waitForAsync(async () => (await works("new-secret")) && !(await works("old-secret")), "the rotated token");
      // Node shares one watcher per file and calls listeners in order, so
      // once this one sees the change the gateway has already handled it.
      const seen = new Promise<void>((resolve) => {
        const listener = () => {
          unwatchFile(file, listener);
          resolve();
        };
        watchFile(file, { interval: 100 }, listener);
      });
      await writeFile(file, "other-secret:read,broken-entry\n");
      await seen;
      assert.equal(await works("new-secret"), true);
      assert.equal(await works("other-secret"), false);
    } finally {
      await gateway.close();
      await rm(dir, { recursive: true });
    }
  });

  it("stops with a ConfigError naming the variable for a bad token list", () => {
    assert.throws(
      () => loadConfig({ AUTH_TOKENS: "t1:read,t2:root" }),
      (error: Error) => error instanceof ConfigError && /^AUTH_TOKENS: entry 2: unknown scope "root"/.test(error.message),
    );
    assert.throws(() => loadConfig({ AUTH_METRICS: "sometimes" }), /AUTH_METRICS must be one of open, token/);
  });

  it("guards /metrics with a read token when AUTH_METRICS=token", async () => {
    const config = loadConfig({ ...lane.env, SIMULATOR: "off", AUTH_TOKENS: TOKENS, AUTH_METRICS: "token" });
    const app = await buildApp(config, { logger: false });
    try {
      if (!app.hasRoute({ method: "GET", url: "/metrics" })) app.get("/metrics", async () => "up 1\n");
      assert.equal((await app.inject({ url: "/metrics" })).statusCode, 401);
      assert.equal((await app.inject({ url: "/metrics", headers: { authorization: "Bearer feeder-secret" } })).statusCode, 403);
      assert.equal((await app.inject({ url: "/metrics", headers: { authorization: "Bearer reader-secret" } })).statusCode, 200);
    } finally {
      await app.close();
    }
  });

  it("refuses /metrics with the same status, challenge and JSON body as a refused REST call", async () => {
    const gateway = await startGateway({ ...lane.env, AUTH_TOKENS: TOKENS, AUTH_METRICS: "token" });
    try {
      for (const authorization of [undefined, "Bearer guessed-secret"]) {
        const headers: Record<string, string> = authorization === undefined ? {} : { authorization };
        const metrics = await fetch(`${gateway.baseUrl}/metrics`, { headers });
        const rest = await fetch(`${gateway.baseUrl}/v1/snapshots/13`, { headers });
        assert.equal(metrics.status, rest.status);
        assert.equal(metrics.headers.get("www-authenticate"), rest.headers.get("www-authenticate"));
        assert.equal(metrics.headers.get("content-type"), rest.headers.get("content-type"));
        assert.deepEqual(await metrics.json(), await rest.json());
      }
      const denied = await fetch(`${gateway.baseUrl}/metrics`, { headers: { authorization: "Bearer feeder-secret" } });
      assert.equal(denied.status, 403);
      assert.deepEqual(await denied.json(), { code: "permission_denied", message: 'token lacks the "read" scope', details: [] });
    } finally {
      await gateway.close();
    }
  });
});

/** Polls an asynchronous condition until it holds or ten seconds pass. */
async function waitForAsync(condition: () => Promise<boolean>, what: string): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

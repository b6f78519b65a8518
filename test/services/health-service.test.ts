import * as grpc from "@grpc/grpc-js";
import { service as healthServiceDefinition } from "grpc-health-check";
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { startGateway, type TestGateway } from "../support/gateway.js";
import { GRPC_LANES } from "../support/grpc-lanes.js";
import { SwitchableStore } from "../support/switchable-store.js";
import { waitFor } from "../support/transports.js";

const HealthClient = grpc.makeClientConstructor(healthServiceDefinition, "Health");

interface HealthReply {
  status: string;
}

function check(client: grpc.Client, service: string): Promise<HealthReply> {
  return new Promise((resolve, reject) => {
    (client as unknown as Record<string, (...args: unknown[]) => unknown>).check!({ service }, (error: grpc.ServiceError | null, reply: HealthReply) => {
      if (error) reject(error);
      else resolve(reply);
    });
  });
}

function watch(client: grpc.Client, service: string) {
  const call = (client as unknown as Record<string, (...args: unknown[]) => unknown>).watch!({ service }) as grpc.ClientReadableStream<HealthReply>;
  const statuses: string[] = [];
  let ended: grpc.ServiceError | undefined;
  call.on("data", (reply: HealthReply) => statuses.push(reply.status));
  call.on("error", (error: grpc.ServiceError) => (ended = error));
  return { call, statuses, ended: () => ended };
}

for (const lane of GRPC_LANES) describe(`grpc.health.v1.Health (${lane.name})`, () => {
  let gateway: TestGateway;
  let store: SwitchableStore;
  let client: grpc.Client;

  before(async () => {
    store = new SwitchableStore();
    gateway = await startGateway({ ...lane.env }, { store });
    client = new HealthClient(`127.0.0.1:${gateway.port}`, grpc.credentials.createInsecure());
  });
  after(async () => {
    client.close();
    await gateway.close();
  });

  it("reports the whole server and each registered service as SERVING", async () => {
    assert.equal((await check(client, "")).status, "SERVING");
    assert.equal((await check(client, "stockify.v1.MarketDataService")).status, "SERVING");
    assert.equal((await check(client, "stockify.v1.MarketFeedService")).status, "SERVING");
    assert.equal((await check(client, "grpc.health.v1.Health")).status, "SERVING");
  });

  it("answers NOT_FOUND for a service it does not serve", async () => {
    await assert.rejects(check(client, "no.such.Service"), (error: grpc.ServiceError) => error.code === grpc.status.NOT_FOUND);
  });

  it("turns NOT_SERVING while the store is down, for Check, Watch and /readyz", async () => {
    const watcher = watch(client, "stockify.v1.MarketDataService");
    try {
      await waitFor(() => watcher.statuses.length === 1, 5000, "the first Watch status");
      assert.deepEqual(watcher.statuses, ["SERVING"]);

      store.setHealthy(false);
      await waitFor(() => watcher.statuses.length === 2, 5000, "Watch to see the outage");
      assert.equal(watcher.statuses[1], "NOT_SERVING");
      assert.equal((await check(client, "")).status, "NOT_SERVING");
      const notReady = await fetch(`${gateway.baseUrl}/readyz`);
      assert.equal(notReady.status, 503);
      assert.deepEqual(await notReady.json(), { status: "NOT_SERVING" });
      // Liveness is about the process, not its dependencies.
      assert.equal((await fetch(`${gateway.baseUrl}/healthz`)).status, 200);

      store.setHealthy(true);
      await waitFor(() => watcher.statuses.length === 3, 5000, "Watch to see the recovery");
      assert.equal(watcher.statuses[2], "SERVING");
      assert.equal((await fetch(`${gateway.baseUrl}/readyz`)).status, 200);
    } finally {
      watcher.call.cancel();
    }
  });

  it("keeps a Watch of an unknown service open with SERVICE_UNKNOWN", async () => {
    const watcher = watch(client, "no.such.Service");
    try {
      await waitFor(() => watcher.statuses.length === 1, 5000, "the first Watch status");
      assert.deepEqual(watcher.statuses, ["SERVICE_UNKNOWN"]);
      assert.equal(watcher.ended(), undefined);
    } finally {
      watcher.call.cancel();
    }
  });

  it("lists every service with its status", async () => {
    const reply = await new Promise<{ statuses: Record<string, HealthReply> }>((resolve, reject) => {
      (client as unknown as Record<string, (...args: unknown[]) => unknown>).list!({}, (error: grpc.ServiceError | null, value: { statuses: Record<string, HealthReply> }) =>
        error ? reject(error) : resolve(value),
      );
    });
    assert.equal(reply.statuses[""]?.status, "SERVING");
    assert.equal(reply.statuses["stockify.v1.MarketDataService"]?.status, "SERVING");
  });
});

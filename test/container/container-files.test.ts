import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { resolve } from "node:path";
import { describe, it } from "node:test";
import { parse } from "yaml";

const ROOT = resolve(import.meta.dirname, "../..");

interface ComposeService {
  image?: string;
  command?: string[];
  ports?: string[];
  environment?: Record<string, string>;
  secrets?: string[];
  read_only?: boolean;
  cap_drop?: string[];
  security_opt?: string[];
  deploy?: { resources?: { limits?: { cpus?: string; memory?: string } } };
}

/** The root compose file's services. */
async function composeServices(): Promise<Record<string, ComposeService>> {
  const compose = parse(await readFile(resolve(ROOT, "docker-compose.yml"), "utf8")) as { services: Record<string, ComposeService> };
  return compose.services;
}

describe("docker-compose.yml", () => {
  it("publishes the gateway on loopback only, with auth on from a secret", async () => {
    const { gateway } = await composeServices();
    assert.ok(gateway);
    for (const port of gateway.ports ?? []) assert.match(port, /^127\.0\.0\.1:/, `${port} is published on every interface`);
    assert.equal(gateway.environment?.AUTH_TOKENS_FILE, "/run/secrets/gateway-tokens");
    assert.deepEqual(gateway.secrets, ["gateway-tokens"]);
    assert.equal(gateway.environment?.AUTH_TOKENS, undefined, "a token written into the compose file");
  });

  it("keeps Redis's data across restarts (append-only file on)", async () => {
    const { redis } = await composeServices();
    const command = redis?.command ?? [];
    assert.equal(command[command.indexOf("--appendonly") + 1], "yes");
  });

  it("keeps history in the compose file's PostgreSQL", async () => {
    const { gateway, postgres } = await composeServices();
    assert.ok(postgres, "no postgres service");
    assert.match(gateway?.environment?.DATABASE_URL ?? "", /^postgresql:\/\/[^@]+@postgres:5432\//);
  });

  it("runs every service read-only, without capabilities, within resource limits", async () => {
    for (const [name, service] of Object.entries(await composeServices())) {
      assert.equal(service.read_only, true, `${name} has a writable root`);
      assert.deepEqual(service.cap_drop, ["ALL"], `${name} keeps capabilities`);
      assert.ok(service.security_opt?.includes("no-new-privileges:true"), `${name} may gain privileges`);
      const limits = service.deploy?.resources?.limits;
      assert.ok(limits?.cpus && limits.memory, `${name} has no CPU or memory limit`);
      // PostgreSQL's releases are major.minor: the minor is the patch level.
      if (service.image !== undefined) assert.match(service.image, /:\d+\.\d+(\.\d+)?(-|$)/, `${name}'s image is not pinned to a version`);
    }
  });
});

describe("Dockerfile", () => {
  it("runs the compiled gateway from a version-pinned base, with OCI labels and a readiness healthcheck", async () => {
    const dockerfile = await readFile(resolve(ROOT, "Dockerfile"), "utf8");
    assert.match(dockerfile, /^ARG NODE_IMAGE=node:\d+\.\d+\.\d+-/m);
    assert.match(dockerfile, /^CMD \["node", "--enable-source-maps", "--max-semi-space-size=4", "dist\/main\.js"\]$/m);
    assert.doesNotMatch(dockerfile, /tsx/);
    for (const label of ["title", "description", "version", "licenses"]) assert.match(dockerfile, new RegExp(`org\\.opencontainers\\.image\\.${label}=`));
    assert.match(dockerfile, /^HEALTHCHECK .*bin\/healthcheck\.js/m);
    assert.match(await readFile(resolve(ROOT, "bin/healthcheck.js"), "utf8"), /\/readyz/);
  });
});

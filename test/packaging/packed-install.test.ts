import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdtemp, readdir, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { after, before, describe, it } from "node:test";
import { promisify } from "node:util";
import { build } from "esbuild";
import { startGatewayProcess, type GatewayProcess } from "../support/gateway-process.js";

const ROOT = resolve(import.meta.dirname, "../..");
const run = promisify(execFile);
/** The client's installed size the package promises (dependencies included). */
const CLIENT_BUDGET_BYTES = 10 * 1024 * 1024;

/** Runs npm in a directory with the cache this machine already holds, so the test needs no registry. */
async function npm(cwd: string, args: string[]): Promise<string> {
  const { stdout } = await run("npm", [...args, "--prefer-offline", "--no-audit", "--no-fund", "--loglevel=error"], {
    cwd,
    timeout: 240_000,
    maxBuffer: 16 * 1024 * 1024,
  });
  return stdout;
}

/** Packs a package directory into `into` and returns the tarball's path. */
async function pack(dir: string, into: string): Promise<string> {
  const out = await npm(dir, ["pack", "--json", "--pack-destination", into]);
  // prepack (the build) prints to the same stdout before npm's JSON.
  const [{ filename }] = JSON.parse(out.slice(out.search(/^\[/m))) as { filename: string }[];
  return join(into, filename);
}

/** Bytes and package count of a node_modules tree. */
async function treeSize(dir: string): Promise<{ bytes: number; packages: number }> {
  let bytes = 0;
  let packages = 0;
  for (const entry of await readdir(dir, { recursive: true, withFileTypes: true })) {
    const path = join(entry.parentPath, entry.name);
    if (entry.isFile()) bytes += (await stat(path)).size;
    if (entry.isFile() && entry.name === "package.json" && /node_modules\/(@[^/]+\/)?[^/]+$/.test(entry.parentPath)) packages += 1;
  }
  return { bytes, packages };
}

/** Writes an empty ES module project in a new temporary directory. */
async function emptyProject(name: string): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), `stockify-${name}-`));
  await writeFile(join(dir, "package.json"), JSON.stringify({ name, version: "1.0.0", private: true, type: "module" }));
  return dir;
}

const CALL_SCRIPT = `
import { MarketDataClient } from "@stockify/client";
await using client = new MarketDataClient({ baseUrl: process.argv[2], retry: false });
const snapshot = await client.getSnapshot(13);
console.log(JSON.stringify({ symbol: snapshot.symbol, ltp: snapshot.ltp }));
`;

describe("the packed packages (gateway, client, command), installed into an empty project", () => {
  let work: string;
  let project: string;
  let clientOnly: string;
  let clientTarball: string;
  let gateway: GatewayProcess | undefined;

  before(async () => {
    work = await mkdtemp(join(tmpdir(), "stockify-pack-"));
    clientTarball = await pack(join(ROOT, "packages/client"), work);
    const cliTarball = await pack(join(ROOT, "packages/cli"), work);
    const gatewayTarball = await pack(ROOT, work);
    project = await emptyProject("packed-all");
    await npm(project, ["install", clientTarball, cliTarball, gatewayTarball]);
    clientOnly = await emptyProject("packed-client");
    await npm(clientOnly, ["install", clientTarball]);
  });
  after(async () => {
    await gateway?.stop();
    for (const dir of [work, project, clientOnly]) if (dir) await rm(dir, { recursive: true, force: true });
  });

  it("starts the installed gateway from its compiled JavaScript, without TypeScript tooling", async () => {
    const installed = join(project, "node_modules");
    for (const tool of ["tsx", "esbuild", "typescript"]) {
      await assert.rejects(stat(join(installed, tool)), `${tool} was installed with the gateway`);
    }
    // The command's and the client's libraries are theirs, not the server's.
    const manifest = JSON.parse(await readFile(join(installed, "stockify-gateway/package.json"), "utf8")) as {
      dependencies: Record<string, string>;
      bin?: unknown;
    };
    for (const library of ["commander", "cli-table3", "log-update", "picocolors", "@stockify/client", "tsx", "esbuild"]) {
      assert.equal(manifest.dependencies[library], undefined, `the gateway depends on ${library}`);
    }
    gateway = await startGatewayProcess({}, { nodeArgs: ["node_modules/stockify-gateway/dist/main.js"], cwd: project });
    assert.match(gateway.output(), /Server listening/);
  });

  it("answers a call from the installed client under plain node", async () => {
    assert.ok(gateway, "the gateway did not start");
    await writeFile(join(project, "call.mjs"), CALL_SCRIPT);
    const { stdout } = await run(process.execPath, ["call.mjs", gateway.baseUrl], { cwd: project, timeout: 30_000 });
    const answer = JSON.parse(stdout) as { symbol: string; ltp: number };
    assert.equal(answer.symbol, "NIFTY 50");
    assert.ok(answer.ltp > 0);
  });

  it("answers a call from the installed stockify command", async () => {
    assert.ok(gateway, "the gateway did not start");
    const { stdout } = await run(process.execPath, ["node_modules/.bin/stockify", "--json", "--url", gateway.baseUrl, "get", "13"], {
      cwd: project,
      timeout: 30_000,
    });
    assert.equal((JSON.parse(stdout) as { symbolId: number }).symbolId, 13);
  });

  it("answers a call from the client bundled by a bundler", async () => {
    assert.ok(gateway, "the gateway did not start");
    await writeFile(join(clientOnly, "call.mjs"), CALL_SCRIPT);
    await build({
      absWorkingDir: clientOnly,
      entryPoints: ["call.mjs"],
      bundle: true,
      platform: "node",
      format: "esm",
      target: "node22",
      outfile: "bundle.mjs",
      logLevel: "error",
    });
    // The bundle runs from a directory without node_modules: it carries everything.
    const alone = await mkdtemp(join(tmpdir(), "stockify-bundle-"));
    try {
      await run("cp", [join(clientOnly, "bundle.mjs"), alone]);
      const { stdout } = await run(process.execPath, ["bundle.mjs", gateway.baseUrl], { cwd: alone, timeout: 30_000 });
      assert.equal((JSON.parse(stdout) as { symbol: string }).symbol, "NIFTY 50");
    } finally {
      await rm(alone, { recursive: true, force: true });
    }
  });

  it("installs the client alone in a few packages and under 10 MB", async () => {
    const installed = join(clientOnly, "node_modules");
    const names = (await readdir(installed)).filter((name) => !name.startsWith("."));
    for (const server of ["fastify", "ioredis", "tsx", "commander", "@fastify"]) assert.ok(!names.includes(server), `${server} came with the client`);
    const { bytes, packages } = await treeSize(installed);
    // Printed so the figure can be read off a test run.
    console.log(`installed client: ${packages} packages, ${(bytes / 1024 / 1024).toFixed(2)} MB (${bytes} bytes)`);
    assert.ok(bytes <= CLIENT_BUDGET_BYTES, `the installed client takes ${bytes} bytes`);
    // One copy of each Connect package: the client's are peers, not nested pins.
    const nested = await stat(join(installed, "@stockify/client/node_modules")).catch(() => undefined);
    assert.equal(nested, undefined, "the client nests its own dependencies");
  });
});

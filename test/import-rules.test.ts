import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { after, before, describe, it } from "node:test";

const ROOT = resolve(import.meta.dirname, "..");
const DEPCRUISE = join(ROOT, "node_modules/dependency-cruiser/bin/dependency-cruiser.mjs");
const CONFIG = join(ROOT, ".dependency-cruiser.mjs");

/**
 * A small tree laid out like ours: every file named `wrong-*` makes one
 * import the rules forbid, every other file only imports that are allowed.
 */
const FIXTURE: Record<string, string> = {
  "node_modules/fastify/package.json": `{ "name": "fastify", "main": "index.js" }`,
  "node_modules/fastify/index.js": "export default function fastify() {}\n",
  "node_modules/@connectrpc/connect/package.json": `{ "name": "@connectrpc/connect", "main": "index.js" }`,
  "node_modules/@connectrpc/connect/index.js": "export const Code = {};\n",

  "src/app.ts": `import { listen } from "./server/listener.js";\nimport { routes } from "./rest/routes.js";\nexport const app = [listen, routes];\n`,
  "src/config.ts": "export interface AuthConfig { readonly tokens: string[] }\n",
  "src/main.ts": `import { app } from "./app.js";\nexport const main = app;\n`,

  "src/market/quote.ts": "export const quote = 1;\n",
  "src/market/hub.ts": `import type { Subscription } from "./subscription.js";\nexport class Hub { subscriptions: Subscription[] = []; }\n`,
  "src/market/subscription.ts": `import type { Hub } from "./hub.js";\nexport class Subscription { constructor(readonly hub: Hub) {} }\n`,
  "src/market/wrong-loop-a.ts": `import { b } from "./wrong-loop-b.js";\nexport const a = () => b;\n`,
  "src/market/wrong-loop-b.ts": `import { a } from "./wrong-loop-a.js";\nexport const b = () => a;\n`,
  "src/market/wrong-uses-server.ts": `import { listen } from "../server/listener.js";\nexport const x = listen;\n`,
  "src/market/wrong-uses-fastify.ts": `import type fastify from "fastify";\nexport type X = typeof fastify;\n`,
  "src/market/wrong-uses-connect.ts": `import { Code } from "@connectrpc/connect";\nexport const x = Code;\n`,
  "src/market/wrong-missing.ts": `import { nothing } from "./nowhere.js";\nexport const x = nothing;\n`,

  "src/pipeline/chain.ts": `import type { FastifyBaseLogger } from "fastify";\nimport { Code } from "@connectrpc/connect";\nimport { quote } from "../market/quote.js";\nexport const chain = (log: FastifyBaseLogger) => [log, Code, quote];\n`,
  "src/pipeline/wrong-uses-services.ts": `import { feed } from "../services/feed.js";\nexport const x = feed;\n`,
  "src/pipeline/wrong-starts-fastify.ts": `import fastify from "fastify";\nexport const x = fastify;\n`,

  "src/services/feed.ts": `import { chain } from "../pipeline/chain.js";\nimport { quote } from "../market/quote.js";\nimport { api } from "../gen/api_pb.js";\nexport const feed = [chain, quote, api];\n`,
  "src/services/wrong-uses-rest.ts": `import { routes } from "../rest/routes.js";\nexport const x = routes;\n`,

  "src/auth/tokens.ts": `import type { AuthConfig } from "../config.js";\nimport { chain } from "../pipeline/chain.js";\nexport const tokens = (config: AuthConfig) => [config, chain];\n`,
  "src/auth/wrong-uses-services.ts": `import { feed } from "../services/feed.js";\nexport const x = feed;\n`,
  "src/auth/wrong-uses-gen.ts": `import { api } from "../gen/api_pb.js";\nexport const x = api;\n`,

  "src/server/listener.ts": `import fastify from "fastify";\nimport { feed } from "../services/feed.js";\nimport { tokens } from "../auth/tokens.js";\nimport { lane } from "./grpc-lane/lane.js";\nexport const listen = [fastify, feed, tokens, lane];\n`,
  "src/server/wrong-uses-rest.ts": `import { routes } from "../rest/routes.js";\nexport const x = routes;\n`,
  "src/server/grpc-lane/lane.ts": `import { chain } from "../../pipeline/chain.js";\nexport const lane = chain;\n`,
  "src/server/grpc-lane/wrong-uses-listener.ts": `import { listen } from "../listener.js";\nexport const x = listen;\n`,

  "src/rest/routes.ts": `import { feed } from "../services/feed.js";\nexport const routes = feed;\n`,
  "src/rest/wrong-uses-server.ts": `import { listen } from "../server/listener.js";\nexport const x = listen;\n`,

  "src/dashboard/wrong-uses-app.ts": `import { app } from "../app.js";\nexport const x = app;\n`,

  "tsconfig.json": `{ "compilerOptions": { "paths": { "@stockify/client": ["./packages/client/src/index.ts"] } } }\n`,
  "packages/client/src/index.ts": `import { api } from "./gen/api_pb.js";\nexport const client = api;\n`,
  "packages/client/src/gen/api_pb.ts": "export const api = 1;\n",
  "packages/client/src/wrong-uses-pipeline.ts": `import { chain } from "../../../src/pipeline/chain.js";\nexport const x = chain;\n`,
  "packages/client/src/wrong-uses-gen.ts": `import { api } from "../../../src/gen/api_pb.js";\nexport const x = api;\n`,
  "packages/cli/src/main.ts": `import { client } from "@stockify/client";\nexport const cli = client;\n`,
  "packages/cli/src/wrong-uses-gen.ts": `import { api } from "../../../src/gen/api_pb.js";\nexport const x = api;\n`,
  "packages/cli/src/wrong-uses-services.ts": `import { feed } from "../../../src/services/feed.js";\nexport const x = feed;\n`,

  "src/gen/api_pb.ts": "export const api = 1;\n",
  "src/gen/wrong-uses-market.ts": `import { quote } from "../market/quote.js";\nexport const x = quote;\n`,

  "web/src/page.ts": `import { api } from "../../src/gen/api_pb.js";\nexport const page = api;\n`,
  "web/src/wrong-page.ts": `import { listen } from "../../src/server/listener.js";\nexport const page = listen;\n`,
};

/** Each violation the fixture must produce, as "rule: from -> to". */
const EXPECTED = [
  "market-imports-down: src/market/wrong-uses-server.ts -> src/server/listener.ts",
  "market-knows-no-transport: src/market/wrong-uses-fastify.ts -> node_modules/fastify/index.js",
  "market-knows-no-transport: src/market/wrong-uses-connect.ts -> node_modules/@connectrpc/connect/index.js",
  "no-circular: src/market/wrong-loop-a.ts -> src/market/wrong-loop-b.ts",
  "not-to-unresolvable: src/market/wrong-missing.ts -> ./nowhere.js",
  "pipeline-imports-down: src/pipeline/wrong-uses-services.ts -> src/services/feed.ts",
  "pipeline-and-services-run-without-fastify: src/pipeline/wrong-starts-fastify.ts -> node_modules/fastify/index.js",
  "services-imports-down: src/services/wrong-uses-rest.ts -> src/rest/routes.ts",
  "auth-imports-down: src/auth/wrong-uses-services.ts -> src/services/feed.ts",
  "auth-imports-down: src/auth/wrong-uses-gen.ts -> src/gen/api_pb.ts",
  "server-imports-down: src/server/wrong-uses-rest.ts -> src/rest/routes.ts",
  "server-grpc-lane-imports-down: src/server/grpc-lane/wrong-uses-listener.ts -> src/server/listener.ts",
  "rest-imports-down: src/rest/wrong-uses-server.ts -> src/server/listener.ts",
  "dashboard-imports-down: src/dashboard/wrong-uses-app.ts -> src/app.ts",
  "top-files-are-imported-from-the-top: src/dashboard/wrong-uses-app.ts -> src/app.ts",
  "client-package-stands-alone: packages/client/src/wrong-uses-pipeline.ts -> src/pipeline/chain.ts",
  "client-package-stands-alone: packages/client/src/wrong-uses-gen.ts -> src/gen/api_pb.ts",
  "cli-package-uses-only-the-client: packages/cli/src/wrong-uses-services.ts -> src/services/feed.ts",
  "cli-package-uses-only-the-client: packages/cli/src/wrong-uses-gen.ts -> src/gen/api_pb.ts",
  "gen-imports-down: src/gen/wrong-uses-market.ts -> src/market/quote.ts",
  "web-page-imports-client-side-code: web/src/wrong-page.ts -> src/server/listener.ts",
].sort();

interface CruiseResult {
  summary: {
    totalCruised: number;
    violations: { from: string; to: string; rule: { name: string } }[];
  };
}

/** Runs the project's import check in a directory, with any extra arguments. */
function depcruise(cwd: string, extra: string[] = []): Promise<{ exitCode: number; stdout: string; stderr: string }> {
  return new Promise((resolvePromise) => {
    execFile(
      process.execPath,
      [DEPCRUISE, "src", "web/src", "packages/client/src", "packages/cli/src", "--config", CONFIG, ...extra],
      { cwd, timeout: 60_000, maxBuffer: 16 * 1024 * 1024 },
      (error, stdout, stderr) => {
        const exitCode = error === null ? 0 : typeof error.code === "number" ? error.code : -1;
        resolvePromise({ exitCode, stdout, stderr });
      },
    );
  });
}

describe("import rules (.dependency-cruiser.mjs)", () => {
  let dir: string;
  let result: CruiseResult;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), "stockify-import-rules-"));
    for (const [path, text] of Object.entries(FIXTURE)) {
      await mkdir(dirname(join(dir, path)), { recursive: true });
      await writeFile(join(dir, path), text);
    }
    const json = await depcruise(dir, ["--output-type", "json"]);
    assert.ok(json.stdout.length > 0, `dependency-cruiser printed nothing: ${json.stderr}`);
    result = JSON.parse(json.stdout) as CruiseResult;
  });
  after(() => rm(dir, { recursive: true, force: true }));

  it("reads every TypeScript file of the tree", () => {
    const sources = Object.keys(FIXTURE).filter((path) => path.endsWith(".ts"));
    assert.ok(result.summary.totalCruised >= sources.length, `cruised ${result.summary.totalCruised} of ${sources.length}`);
  });

  it("fails the check on a wrong-way import, naming the rule", async () => {
    // The same invocation as `npm run check`, whose report and exit code people see.
    const { exitCode, stdout } = await depcruise(dir);
    assert.notEqual(exitCode, 0);
    assert.match(stdout, /error market-imports-down: src\/market\/wrong-uses-server\.ts → src\/server\/listener\.ts/);
  });

  it("names each wrong-way import and nothing else", () => {
    const found = result.summary.violations.map(({ rule, from, to }) => `${rule.name}: ${from} -> ${to}`).sort();
    assert.deepEqual(found, EXPECTED);
  });
});

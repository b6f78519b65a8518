/**
 * lint-openapi writes the OpenAPI document exactly as the gateway serves it
 * at /openapi.json and runs the Redocly CLI on it with redocly.yaml (the
 * recommended-strict rules): `npm run check` fails on any finding.
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { buildApp } from "../src/app.js";
import { loadConfig } from "../src/config.js";

const root = dirname(dirname(fileURLToPath(import.meta.url)));
const app = await buildApp(loadConfig({ SIMULATOR: "off", LOG_LEVEL: "silent", PORT: "0" }), { logger: false });
const response = await app.inject({ method: "GET", url: "/openapi.json" });
await app.close();
if (response.statusCode !== 200) throw new Error(`/openapi.json answered ${response.statusCode}`);

const dir = mkdtempSync(join(tmpdir(), "stockify-openapi-"));
try {
  const file = join(dir, "openapi.json");
  writeFileSync(file, response.body);
  const require = createRequire(import.meta.url);
  const cli = join(dirname(require.resolve("@redocly/cli/package.json")), (require("@redocly/cli/package.json") as { bin: { redocly: string } }).bin.redocly);
  const result = spawnSync(process.execPath, [cli, "lint", file, "--config", join(root, "redocly.yaml"), "--format", "stylish"], {
    stdio: "inherit",
    // A check must not phone home.
    env: { ...process.env, REDOCLY_TELEMETRY: "off", REDOCLY_SUPPRESS_UPDATE_NOTICE: "true" },
  });
  process.exitCode = result.status ?? 1;
} finally {
  rmSync(dir, { recursive: true, force: true });
}

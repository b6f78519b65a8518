import { buildApp } from "./app.js";
import { ConfigError, loadConfig } from "./config.js";
import { handleShutdownSignals } from "./server/graceful-shutdown.js";

try {
  const config = loadConfig();
  const app = await buildApp(config);
  handleShutdownSignals(app, { timeoutMs: config.shutdownTimeoutMs, drainDelayMs: config.shutdownDrainDelayMs });
  await app.listen({ host: config.host, port: config.port });
} catch (error) {
  if (error instanceof ConfigError) {
    console.error(`configuration error: ${error.message}`);
    process.exit(2);
  }
  throw error;
}

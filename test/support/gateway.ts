import type { FastifyInstance } from "fastify";
import { buildApp, type AppOptions } from "../../src/app.js";
import { loadConfig, type GatewayConfig } from "../../src/config.js";
import type { Tick } from "../../src/market/snapshot.js";
import { waitFor } from "./transports.js";

/**
 * TestGateway is a real gateway listening on a free loopback port.
 */
export interface TestGateway {
  app: FastifyInstance;
  config: GatewayConfig;
  port: number;
  /** http://127.0.0.1:PORT */
  baseUrl: string;
  close(): Promise<void>;
}

/** Ticks that give the test gateway its well-known symbols. */
export const SEED_TICKS: Tick[] = [
  { symbolId: 13, symbol: "NIFTY 50", ltp: 24350, volume: 100, bid: 24349.95, ask: 24350.05 },
  { symbolId: 25, symbol: "BANK NIFTY", ltp: 52100, volume: 50 },
  { symbolId: 27, symbol: "FIN NIFTY", ltp: 23850, volume: 10 },
];

/**
 * startGateway builds the gateway with the simulator off (tests drive prices
 * themselves, often as counters, so the price band and the time checks are
 * off too unless `env` sets PRICE_BAND_PERCENT or TICK_TIME_WINDOW_MS),
 * seeds 13, 25 and 27, and listens on `PORT` (0, a free port, unless given:
 * a test restarts a gateway on the port its clients know).
 */
export async function startGateway(
  env: Record<string, string> = {},
  options: AppOptions & { seed?: Tick[] } = {},
): Promise<TestGateway> {
  const config = loadConfig({
    SIMULATOR: "off",
    LOG_LEVEL: "silent",
    HOST: "127.0.0.1",
    PORT: "0",
    PRICE_BAND_PERCENT: "0",
    TICK_TIME_WINDOW_MS: "0",
    ...env,
  });
  const app = await buildApp(config, { logger: env.LOG_LEVEL !== undefined, ...options });
  // A Redis-backed store connects in the background.
  await waitFor(() => app.market.store.healthy, 10_000, "the snapshot store to be healthy");
  await app.market.ingest(options.seed ?? SEED_TICKS);
  await app.listen({ host: config.host, port: config.port });
  const address = app.server.address();
  if (address === null || typeof address === "string") throw new Error("gateway did not bind a TCP port");
  return {
    app,
    config,
    port: address.port,
    baseUrl: `http://127.0.0.1:${address.port}`,
    close: () => app.close(),
  };
}

import type { OverflowPolicy } from "./market/subscription.js";

/**
 * GatewayConfig is everything the gateway reads from its environment.
 */
export interface GatewayConfig {
  host: string;
  port: number;
  logLevel: string;
  simulator: {
    enabled: boolean;
    syntheticSymbols: number;
    ticksPerSecond: number;
  };
  maxSymbolsPerCall: number;
  streamBufferSize: number;
  slowConsumerPolicy: OverflowPolicy;
  heartbeatMs: number;
  firstByteTimeoutMs: number;
}

/**
 * ConfigError names the environment variable that holds a bad value.
 */
export class ConfigError extends Error {
  override readonly name = "ConfigError";
}

type Env = Readonly<Record<string, string | undefined>>;

/**
 * loadConfig reads and validates the gateway's configuration; see the
 * README's configuration table for every variable.
 */
export function loadConfig(env: Env = process.env): GatewayConfig {
  return {
    host: text(env, "HOST", "0.0.0.0"),
    port: integer(env, "PORT", 50051, 0, 65535),
    logLevel: oneOf(env, "LOG_LEVEL", "info", ["fatal", "error", "warn", "info", "debug", "trace", "silent"]),
    simulator: {
      enabled: oneOf(env, "SIMULATOR", "on", ["on", "off"]) === "on",
      syntheticSymbols: integer(env, "SIMULATOR_SYMBOLS", 100, 0, 100_000),
      ticksPerSecond: integer(env, "SIMULATOR_TICKS_PER_SECOND", 50, 1, 10_000_000),
    },
    maxSymbolsPerCall: integer(env, "MAX_SYMBOLS_PER_CALL", 1000, 1, 1_000_000),
    streamBufferSize: integer(env, "STREAM_BUFFER_SIZE", 1024, 1, 1_000_000),
    slowConsumerPolicy: oneOf(env, "SLOW_CONSUMER_POLICY", "conflate", ["conflate", "close"]),
    heartbeatMs: integer(env, "HEARTBEAT_INTERVAL_MS", 15_000, 0, 3_600_000),
    firstByteTimeoutMs: integer(env, "FIRST_BYTE_TIMEOUT_MS", 10_000, 1, 3_600_000),
  };
}

function text(env: Env, name: string, fallback: string): string {
  const value = env[name];
  return value === undefined || value === "" ? fallback : value;
}

function integer(env: Env, name: string, fallback: number, min: number, max: number): number {
  const raw = env[name];
  if (raw === undefined || raw === "") return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new ConfigError(`${name} must be an integer from ${min} to ${max}, got "${raw}"`);
  }
  return value;
}

function oneOf<T extends string>(env: Env, name: string, fallback: T, allowed: readonly T[]): T {
  const raw = env[name];
  if (raw === undefined || raw === "") return fallback;
  const value = raw.toLowerCase() as T;
  if (!allowed.includes(value)) {
    throw new ConfigError(`${name} must be one of ${allowed.join(", ")}, got "${raw}"`);
  }
  return value;
}

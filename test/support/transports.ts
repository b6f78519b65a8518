import type { Transport } from "@connectrpc/connect";
import { createConnectTransport, createGrpcTransport, createGrpcWebTransport } from "@connectrpc/connect-node";

/**
 * TransportCase is one way a client can reach the gateway.
 */
export interface TransportCase {
  name: string;
  /** False for HTTP/1.1, where bidirectional streaming is impossible. */
  fullDuplex: boolean;
  create(baseUrl: string): Transport;
}

/**
 * TRANSPORTS lists every protocol and HTTP version the one port serves.
 */
export const TRANSPORTS: TransportCase[] = [
  { name: "gRPC over h2c", fullDuplex: true, create: (baseUrl) => createGrpcTransport({ baseUrl }) },
  {
    name: "Connect JSON over HTTP/1.1",
    fullDuplex: false,
    create: (baseUrl) => createConnectTransport({ baseUrl, httpVersion: "1.1" }),
  },
  {
    name: "Connect binary over HTTP/1.1",
    fullDuplex: false,
    create: (baseUrl) => createConnectTransport({ baseUrl, httpVersion: "1.1", useBinaryFormat: true }),
  },
  {
    name: "Connect JSON over HTTP/2",
    fullDuplex: true,
    create: (baseUrl) => createConnectTransport({ baseUrl, httpVersion: "2" }),
  },
  {
    name: "Connect binary over HTTP/2",
    fullDuplex: true,
    create: (baseUrl) => createConnectTransport({ baseUrl, httpVersion: "2", useBinaryFormat: true }),
  },
  {
    name: "gRPC-Web over HTTP/1.1",
    fullDuplex: false,
    create: (baseUrl) => createGrpcWebTransport({ baseUrl, httpVersion: "1.1" }),
  },
  {
    name: "gRPC-Web over HTTP/2",
    fullDuplex: true,
    create: (baseUrl) => createGrpcWebTransport({ baseUrl, httpVersion: "2" }),
  },
];

/**
 * GatewayLane is a gateway configuration that serves gRPC on one of its two
 * lanes, with the transports that configuration is tested with.
 */
export interface GatewayLane {
  name: string;
  env: Record<string, string>;
  transports: TransportCase[];
}

/**
 * GATEWAY_LANES: every transport against the default gateway (gRPC,
 * Connect and gRPC-Web on their lean lanes), and every transport again
 * with the lanes off (Connect's handler), so both pass the same tests.
 */
export const GATEWAY_LANES: GatewayLane[] = [
  { name: "the lean lanes", env: {}, transports: TRANSPORTS },
  {
    name: "lanes off: Connect's handler",
    env: { GRPC_LANE: "off", CONNECT_LANE: "off", GRPC_WEB_LANE: "off" },
    transports: TRANSPORTS,
  },
];

/**
 * waitFor polls a condition until it holds or the time runs out.
 */
export async function waitFor(condition: () => boolean, timeoutMs = 5000, what = "condition"): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

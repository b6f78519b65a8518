import * as net from "node:net";

/**
 * freePort returns a loopback port nothing listens on now, for a server a
 * test starts as a separate process (which must be told its port).
 */
export async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

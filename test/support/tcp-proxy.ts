import * as net from "node:net";
import type { AddressInfo } from "node:net";

/**
 * TcpProxy forwards connections to a target port and can silence the
 * connections it holds: the sockets stay open but nothing passes, as when
 * a network path dies without a FIN or RST.
 */
export interface TcpProxy {
  /** http://127.0.0.1:PORT of the proxy. */
  baseUrl: string;
  /** Connections opened through the proxy so far. */
  readonly connections: number;
  /** Stops forwarding on every current connection; new ones still pass. */
  blackhole(): void;
  close(): Promise<void>;
}

/**
 * startTcpProxy listens on a free loopback port and forwards to `targetPort`.
 */
export async function startTcpProxy(targetPort: number): Promise<TcpProxy> {
  const pairs: Array<[net.Socket, net.Socket]> = [];
  let connections = 0;
  const server = net.createServer((downstream) => {
    connections++;
    const upstream = net.connect(targetPort, "127.0.0.1");
    downstream.pipe(upstream).pipe(downstream);
    const destroy = () => {
      downstream.destroy();
      upstream.destroy();
    };
    downstream.on("error", destroy);
    upstream.on("error", destroy);
    pairs.push([downstream, upstream]);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    baseUrl: `http://127.0.0.1:${port}`,
    get connections() {
      return connections;
    },
    blackhole() {
      for (const [downstream, upstream] of pairs) {
        downstream.unpipe(upstream);
        upstream.unpipe(downstream);
        downstream.pause();
        upstream.pause();
      }
    },
    async close() {
      for (const [downstream, upstream] of pairs) {
        downstream.destroy();
        upstream.destroy();
      }
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

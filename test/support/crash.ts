import type { Socket } from "node:net";
import type { TestGateway } from "./gateway.js";

/**
 * crashable tracks a test gateway's connections so that `crash` can drop
 * them all at once and stop the gateway, as a killed process or a broken
 * network would: no GOAWAY, no end of stream, just closed sockets.
 */
export function crashable(gateway: TestGateway): { crash(): Promise<void> } {
  const sockets = new Set<Socket>();
  gateway.app.server.on("connection", (socket: Socket) => {
    sockets.add(socket);
    socket.once("close", () => sockets.delete(socket));
  });
  return {
    async crash() {
      for (const socket of sockets) socket.destroy();
      await gateway.close();
    },
  };
}

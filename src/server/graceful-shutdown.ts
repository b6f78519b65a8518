import type { FastifyInstance } from "fastify";
import type * as net from "node:net";

/**
 * GracefulShutdownOptions configure how the gateway leaves.
 */
export interface GracefulShutdownOptions {
  /** Milliseconds to wait for calls in flight before closing every connection. Default 10000. */
  timeoutMs?: number;
  /** Signals that start the shutdown. Default SIGTERM and SIGINT. */
  signals?: readonly NodeJS.Signals[];
  /** Ends the process once the gateway is closed. Default process.exit. */
  exit?: (code: number) => void;
}

/**
 * handleShutdownSignals makes SIGTERM and SIGINT close the gateway
 * gracefully, then exit 0.
 *
 * Closing runs the app's preClose hooks first (health turns NOT_SERVING,
 * streams in flight end with UNAVAILABLE), then stops accepting
 * connections and sends GOAWAY to every HTTP/2 session while calls in
 * flight finish. Connections still open after the timeout are destroyed; a
 * second signal destroys them at once.
 */
export function handleShutdownSignals(app: FastifyInstance, options: GracefulShutdownOptions = {}): void {
  const timeoutMs = options.timeoutMs ?? 10_000;
  const exit = options.exit ?? ((code: number) => process.exit(code));
  // Fastify does not track HTTP/2 sockets; these are what a forced close destroys.
  const sockets = new Set<net.Socket>();
  app.server.on("connection", (socket: net.Socket) => {
    sockets.add(socket);
    socket.once("close", () => sockets.delete(socket));
  });
  const destroyAll = (reason: string) => {
    if (sockets.size === 0) return;
    app.log.warn({ connections: sockets.size }, `closing connections still open: ${reason}`);
    for (const socket of sockets) socket.destroy();
  };

  let closing = false;
  const onSignal = (signal: NodeJS.Signals) => {
    if (closing) {
      destroyAll(`second ${signal}`);
      return;
    }
    closing = true;
    app.log.info({ signal, timeoutMs }, "shutting down: draining calls in flight");
    const timer = setTimeout(() => destroyAll(`shutdown took longer than ${timeoutMs} ms`), timeoutMs);
    timer.unref();
    app.close().then(
      () => {
        clearTimeout(timer);
        app.log.info("shut down");
        exit(0);
      },
      (error: unknown) => {
        app.log.error(error, "shutdown failed");
        exit(1);
      },
    );
  };
  for (const signal of options.signals ?? ["SIGTERM", "SIGINT"]) process.on(signal, onSignal);
}

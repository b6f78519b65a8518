import type { FastifyInstance } from "fastify";
import type * as net from "node:net";

/**
 * GracefulShutdownOptions configure how the gateway leaves.
 */
export interface GracefulShutdownOptions {
  /** Milliseconds to wait for calls in flight before closing every connection. Default 10000. */
  timeoutMs?: number;
  /**
   * Milliseconds between turning NOT_SERVING and closing, on SIGTERM, while
   * every call is still answered, so that balancers see the status before
   * the port goes away. Default 0.
   */
  drainDelayMs?: number;
  /** Signals that start the shutdown. Default SIGTERM and SIGINT. */
  signals?: readonly NodeJS.Signals[];
  /** Ends the process once the gateway is closed. Default process.exit. */
  exit?: (code: number) => void;
}

/**
 * handleShutdownSignals makes SIGTERM and SIGINT close the gateway
 * gracefully, then exit 0.
 *
 * SIGTERM first turns health NOT_SERVING and keeps serving every call for
 * `drainDelayMs`: a balancer only stops sending calls once its health check
 * has seen the status, and a port closed before then refuses the calls it
 * still sends. SIGINT, someone at a terminal, skips the delay, and so does
 * any signal during it.
 *
 * Closing then runs the app's preClose hooks (streams in flight end with
 * UNAVAILABLE), stops accepting connections and sends GOAWAY to every
 * HTTP/2 session while calls in flight finish. Connections still open after
 * `timeoutMs` are destroyed; a signal during the close destroys them at once.
 */
export function handleShutdownSignals(app: FastifyInstance, options: GracefulShutdownOptions = {}): void {
  const timeoutMs = options.timeoutMs ?? 10_000;
  const drainDelayMs = options.drainDelayMs ?? 0;
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

  const close = () => {
    state = "closing";
    clearTimeout(delay);
    app.log.info({ timeoutMs }, "shutting down: draining calls in flight");
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

  let state: "serving" | "delaying" | "closing" = "serving";
  let delay: NodeJS.Timeout | undefined;
  const onSignal = (signal: NodeJS.Signals) => {
    if (state === "closing") {
      destroyAll(`second ${signal}`);
      return;
    }
    if (state === "delaying") {
      app.log.info({ signal }, "shutting down now: drain delay cut short");
      close();
      return;
    }
    app.health.drain();
    if (signal !== "SIGTERM" || drainDelayMs === 0) {
      app.log.info({ signal }, "shutting down");
      close();
      return;
    }
    state = "delaying";
    app.log.info({ signal, drainDelayMs }, "shutting down: not serving, still answering calls until balancers have seen it");
    delay = setTimeout(close, drainDelayMs);
  };
  for (const signal of options.signals ?? ["SIGTERM", "SIGINT"]) process.on(signal, onSignal);
}

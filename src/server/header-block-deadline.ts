import * as http2 from "node:http2";

/**
 * HeaderBlockDeadline closes HTTP/2 connections whose client started a
 * request's header block (HEADERS without END_HEADERS) and has not ended
 * it within the deadline, however slowly its CONTINUATION frames trickle.
 */
export interface HeaderBlockDeadline {
  watch(session: http2.ServerHttp2Session): void;
  /** Stops watching; sessions are left as they are. */
  stop(): void;
}

interface Watched {
  /** The highest stream id whose header block ended (a 'stream' event). */
  completed: number;
  /** The stream id whose header block has been open since `since`. */
  open: number;
  since: number;
}

/**
 * createHeaderBlockDeadline starts one timer for all sessions. Node's
 * http2 says nothing of a header block until it ends; nghttp2's last
 * processed stream id, though, moves on as soon as a HEADERS frame begins.
 * (streams refused for concurrency never get that far). A stream id past
 * the last one Node emitted is a block still open, or one whose headers
 * nghttp2 found invalid and reset: a client that sends those and then no
 * other request for the deadline is closed too. Past the deadline the
 * connection gets GOAWAY ENHANCE_YOUR_CALM and is closed, as the HTTP/1.1
 * server's headersTimeout closes one.
 */
export function createHeaderBlockDeadline(timeoutMs: number): HeaderBlockDeadline {
  const sessions = new Map<http2.ServerHttp2Session, Watched>();
  const timer = setInterval(
    () => {
      const now = Date.now();
      for (const [session, watched] of sessions) {
        if (session.destroyed || session.closed) {
          sessions.delete(session);
          continue;
        }
        const started = session.state.lastProcStreamID ?? 0;
        if (started <= watched.completed) {
          watched.open = 0;
          continue;
        }
        if (watched.open !== started) {
          Object.assign(watched, { open: started, since: now });
          continue;
        }
        if (now - watched.since < timeoutMs) continue;
        sessions.delete(session);
        session.goaway(
          http2.constants.NGHTTP2_ENHANCE_YOUR_CALM,
          watched.completed,
          Buffer.from(`header block not completed within ${timeoutMs} ms`),
        );
        session.destroy();
      }
    },
    // Often enough that a block is closed well within twice its deadline.
    Math.max(10, Math.min(1000, Math.floor(timeoutMs / 4))),
  );
  timer.unref();
  return {
    watch(session) {
      const watched: Watched = { completed: 0, open: 0, since: 0 };
      sessions.set(session, watched);
      session.on("stream", (stream: http2.ServerHttp2Stream) => {
        const id = stream.id ?? 0;
        if (id > watched.completed) watched.completed = id;
      });
      session.once("close", () => sessions.delete(session));
    },
    stop() {
      clearInterval(timer);
      sessions.clear();
    },
  };
}

import { readFileSync } from "node:fs";

/**
 * processRssBytes is a process's resident memory, read from Linux's /proc
 * by the runner, so a server too busy to answer over IPC is still measured;
 * undefined where there is no /proc or the process has gone.
 */
export function processRssBytes(pid: number): number | undefined {
  try {
    const status = readFileSync(`/proc/${pid}/status`, "utf8");
    const match = /^VmRSS:\s+(\d+) kB$/m.exec(status);
    return match === null ? undefined : Number(match[1]) * 1024;
  } catch {
    return undefined;
  }
}

/**
 * RssWatch samples a process's resident memory on a timer: the peak between
 * readings, and a limit past which it calls `onLimit` once (a fan-out that
 * buffers without bound would otherwise take the shared machine's memory).
 */
export class RssWatch {
  peakBytes = 0;
  #timer: NodeJS.Timeout;

  constructor(pid: number, limitBytes: number, onLimit: (rssBytes: number) => void, everyMs = 200) {
    let fired = false;
    this.#timer = setInterval(() => {
      const rss = processRssBytes(pid);
      if (rss === undefined) return;
      if (rss > this.peakBytes) this.peakBytes = rss;
      if (rss > limitBytes && !fired) {
        fired = true;
        onLimit(rss);
      }
    }, everyMs);
    this.#timer.unref();
  }

  /** Starts a new peak from the current reading. */
  resetPeak(currentBytes: number | undefined): void {
    this.peakBytes = currentBytes ?? 0;
  }

  /** Stops sampling. */
  stop(): void {
    clearInterval(this.#timer);
  }
}

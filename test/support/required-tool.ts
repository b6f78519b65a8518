import { accessSync, constants } from "node:fs";
import { delimiter, isAbsolute, join } from "node:path";

/**
 * requireTool throws, naming the program and how to get it, when a test's
 * real peer (redis-server, chromium, openssl, h2load, wrk) is not
 * installed: a missing program otherwise surfaces as a bare ENOENT deep in
 * a spawn, or a browser launch's stack trace.
 */
export function requireTool(command: string, debianPackage: string): void {
  const candidates = isAbsolute(command) ? [command] : (process.env.PATH ?? "").split(delimiter).map((dir) => join(dir, command));
  for (const candidate of candidates) {
    try {
      accessSync(candidate, constants.X_OK);
      return;
    } catch {
      // Not in this directory; try the next.
    }
  }
  throw new Error(
    `${command} is not installed, and this test drives the real program: ` +
      `install Debian's ${debianPackage} (sudo apt-get install ${debianPackage}), or run .ci/run, which installs whatever npm test needs`,
  );
}

import { spawn, type ChildProcess } from "node:child_process";
import { fileURLToPath } from "node:url";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));

/**
 * GatewayProcess is a gateway running as its own process, started the way
 * operators start it (`src/main.ts`), listening on a free loopback port.
 */
export interface GatewayProcess {
  readonly child: ChildProcess;
  readonly port: number;
  /** http://127.0.0.1:PORT */
  readonly baseUrl: string;
  /** Everything the process logged so far. */
  output(): string;
  /** Sends SIGTERM and waits for the exit code. */
  stop(): Promise<number | null>;
}

/**
 * startGatewayProcess runs `src/main.ts` (or, given `nodeArgs` and `cwd`,
 * another build of the gateway, such as an installed package's) with the
 * given environment on port 0 and resolves once it logs the address it
 * listens on.
 */
export async function startGatewayProcess(
  env: Record<string, string>,
  entry: { nodeArgs: string[]; cwd: string } = { nodeArgs: ["--import", "tsx", "src/main.ts"], cwd: ROOT },
): Promise<GatewayProcess> {
  const child = spawn(process.execPath, entry.nodeArgs, {
    cwd: entry.cwd,
    // No drain delay unless a test asks for one: nothing balances to it.
    env: { ...process.env, HOST: "127.0.0.1", PORT: "0", LOG_LEVEL: "info", SHUTDOWN_DRAIN_DELAY_MS: "0", ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  const port = await new Promise<number>((resolve, reject) => {
    // Generous: compiling on start is slow on a busy machine. A process
    // that did not start is not left behind.
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`gateway did not start:\n${output}`));
    }, 60_000);
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      const match = /Server listening at http:\/\/127\.0\.0\.1:(\d+)/.exec(output);
      if (match) {
        clearTimeout(timer);
        resolve(Number(match[1]));
      }
    };
    child.stdout!.on("data", onData);
    child.stderr!.on("data", onData);
    child.once("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`gateway exited with ${code}:\n${output}`));
    });
  });
  const exited = new Promise<number | null>((resolve) => {
    if (child.exitCode !== null) resolve(child.exitCode);
    else child.once("exit", (code) => resolve(code));
  });
  return {
    child,
    port,
    baseUrl: `http://127.0.0.1:${port}`,
    output: () => output,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill("SIGTERM");
      return exited;
    },
  };
}

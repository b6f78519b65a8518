import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { readdirSync, rmSync } from "node:fs";
import { chown, mkdir, mkdtemp, rm } from "node:fs/promises";
import { freePort } from "./free-port.js";
import { tmpdir } from "node:os";
import { join } from "node:path";
import postgres from "postgres";
import { requireTool } from "./required-tool.js";

/**
 * PG_BIN is where Debian's postgresql package puts the server programs,
 * which are not on PATH: the newest version installed (15 on bookworm).
 */
export const PG_BIN = newestPostgresBin();

/**
 * TestPostgres is a private PostgreSQL on a free loopback port, with
 * trust authentication and no durability, that a test starts, may kill and
 * restart, and stops.
 */
export interface TestPostgres {
  readonly port: number;
  /** postgresql://postgres@127.0.0.1:PORT/postgres */
  readonly url: string;
  /** Kills the server at once (SIGKILL), as a crash would. */
  kill(): Promise<void>;
  /** Starts the server again on the same port, with the same data. */
  restart(): Promise<void>;
  /** Stops the server and removes its directory. */
  stop(): Promise<void>;
}

/**
 * startPostgres initialises a cluster in a fresh temporary directory and
 * runs it on a free port, waiting until it accepts connections.
 */
export async function startPostgres(): Promise<TestPostgres> {
  requireTool(join(PG_BIN, "initdb"), "postgresql");
  requireTool(join(PG_BIN, "postgres"), "postgresql");
  // initdb and the server refuse to run as root; as root, they run as Debian's postgres user.
  const owner = process.getuid?.() === 0 ? postgresUser() : undefined;
  const port = await freePort();
  const dir = await mkdtemp(join(tmpdir(), "stockify-postgres-"));
  const data = join(dir, "data");
  const sockets = join(dir, "sockets");
  await mkdir(sockets);
  if (owner !== undefined) {
    await chown(dir, owner.uid, owner.gid);
    await chown(sockets, owner.uid, owner.gid);
  }
  execFileSync(
    join(PG_BIN, "initdb"),
    ["-D", data, "-U", "postgres", "--auth=trust", "--encoding=UTF8", "--locale=C", "--no-sync", "--no-instructions"],
    { stdio: ["ignore", "ignore", "pipe"], ...owner },
  );
  const url = `postgresql://postgres@127.0.0.1:${port}/postgres`;
  let child: ChildProcess | undefined;

  const launch = async () => {
    child = spawn(
      join(PG_BIN, "postgres"),
      [
        "-D", data,
        "-p", String(port),
        "-k", sockets,
        "-c", "listen_addresses=127.0.0.1",
        // Test data need not survive a power cut: skipping the flushes keeps each test's writes fast.
        // synchronous_commit stays on: off, a commit lives in shared memory for up to 200 ms, and
        // kill() would lose what the store had acknowledged; with fsync off it costs only a write().
        "-c", "fsync=off",
        "-c", "full_page_writes=off",
        "-c", "max_connections=50",
      ],
      { stdio: ["ignore", "ignore", "pipe"], ...owner },
    );
    let stderr = "";
    child.stderr!.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
    const exited = new Promise<never>((_, reject) =>
      child!.once("exit", (code) => reject(new Error(`postgres exited with ${code}: ${stderr}`))),
    );
    exited.catch(() => undefined);
    await Promise.race([waitForQuery(url), exited]);
  };
  const halt = async (signal: NodeJS.Signals) => {
    const running = child;
    child = undefined;
    if (running === undefined || running.exitCode !== null || running.signalCode !== null) return;
    const exited = new Promise((resolve) => running.once("exit", resolve));
    running.kill(signal);
    await exited;
  };

  // A process that ends without stop() (a crashed test, a bench cut short) must not leave a server running.
  const orphaned = () => {
    child?.kill("SIGKILL");
    rmSync(dir, { recursive: true, force: true });
  };
  process.once("exit", orphaned);

  await launch();
  return {
    port,
    url,
    kill: () => halt("SIGKILL"),
    async restart() {
      // Backends of a killed postmaster exit when they notice it gone; until then the old shared memory is in use and a new postmaster refuses to start.
      for (let attempt = 1; ; attempt++) {
        try {
          return await launch();
        } catch (error) {
          if (attempt >= 20 || !String(error).includes("shared memory")) throw error;
          await new Promise((resolve) => setTimeout(resolve, 100));
        }
      }
    },
    async stop() {
      process.removeListener("exit", orphaned);
      // SIGINT is PostgreSQL's fast shutdown: it ends sessions rather than waiting for clients to leave.
      await halt("SIGINT");
      await rm(dir, { recursive: true, force: true });
    },
  };
}

function newestPostgresBin(): string {
  let versions: number[] = [];
  try {
    versions = readdirSync("/usr/lib/postgresql").map(Number).filter(Number.isInteger);
  } catch {
    // Not installed: requireTool names the package when a test starts.
  }
  return `/usr/lib/postgresql/${versions.length > 0 ? Math.max(...versions) : 15}/bin`;
}

function postgresUser(): { uid: number; gid: number } {
  const id = (flag: string) => Number(execFileSync("id", [flag, "postgres"], { encoding: "utf8" }).trim());
  return { uid: id("-u"), gid: id("-g") };
}

async function waitForQuery(url: string, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const sql = postgres(url, { max: 1, connect_timeout: 1, onnotice: () => undefined });
    try {
      await sql`select 1`;
      return;
    } catch (error) {
      if (Date.now() > deadline) throw new Error(`postgres at ${url} did not accept connections: ${String(error)}`);
    } finally {
      await sql.end({ timeout: 0 });
    }
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

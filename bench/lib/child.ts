import { fork, type ChildProcess } from "node:child_process";
import { once } from "node:events";
import { fileURLToPath } from "node:url";
import { GATEWAY_NODE_FLAGS } from "../../src/node-flags.js";

/**
 * ChildMessage is what a bench child and the runner exchange over IPC: a
 * request carries an id the reply repeats.
 */
export interface ChildMessage {
  id?: number;
  type: string;
  [key: string]: unknown;
}

/**
 * Child is a bench process (a server peer or a load client) the runner
 * started and controls over IPC.
 */
export interface Child {
  readonly pid: number;
  /** The message the child sent when it became ready (a server's port, for one). */
  readonly ready: ChildMessage;
  /** Sends a request and resolves with the child's reply. */
  request(type: string, payload?: Record<string, unknown>, timeoutMs?: number): Promise<ChildMessage>;
  /** Stops the child and waits for it to exit. */
  stop(): Promise<void>;
}

/**
 * StartChildOptions configure startChild.
 */
export interface StartChildOptions {
  /** Extra environment variables. Default: none. */
  env?: Record<string, string>;
  /** Extra Node flags (`--expose-gc`, ...). Default: none. */
  nodeFlags?: string[];
  /** Message sent once the child is up, before it reports ready. Default: none. */
  init?: Record<string, unknown>;
  /** Milliseconds to wait for the ready message. Default 30000. */
  readyTimeoutMs?: number;
}

/**
 * startChild forks a TypeScript bench script (path relative to bench/) on
 * the running Node and waits for its `ready` message.
 */
export async function startChild(script: string, options: StartChildOptions = {}): Promise<Child> {
  const file = fileURLToPath(new URL(`../${script}`, import.meta.url));
  const child: ChildProcess = fork(file, [], {
    execArgv: ["--import", "tsx", ...peerFlags(script), ...profileFlags(script), ...(options.nodeFlags ?? [])],
    env: { ...process.env, ...options.env },
    stdio: ["ignore", "inherit", "inherit", "ipc"],
  });
  const pending = new Map<number, { resolve: (m: ChildMessage) => void; reject: (e: Error) => void }>();
  let nextId = 1;
  let exited = false;
  let stopping = false;
  const exit = once(child, "exit").then(([code, signal]) => {
    exited = true;
    if (!stopping) process.stderr.write(`[bench] ${script} (pid ${child.pid}) exited: code ${code}, signal ${signal}\n`);
    for (const { reject } of pending.values()) reject(new Error(`${script} exited`));
    pending.clear();
  });
  const ready = new Promise<ChildMessage>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${script} was not ready in time`)), options.readyTimeoutMs ?? 30_000);
    child.on("message", (message: ChildMessage) => {
      if (message.type === "ready") {
        clearTimeout(timer);
        resolve(message);
      } else if (message.id !== undefined) {
        const waiter = pending.get(message.id);
        pending.delete(message.id);
        if (message.type === "error") waiter?.reject(new Error(`${script}: ${String(message.message)}`));
        else waiter?.resolve(message);
      }
    });
    void exit.then(() => {
      clearTimeout(timer);
      reject(new Error(`${script} exited before it was ready`));
    });
  });
  if (options.init !== undefined) child.send({ type: "init", ...options.init });
  const readyMessage = await ready.catch((error: unknown) => {
    child.kill("SIGKILL");
    throw error;
  });
  return {
    pid: child.pid!,
    ready: readyMessage,
    request(type, payload = {}, timeoutMs = 600_000) {
      if (exited) return Promise.reject(new Error(`${script} has exited`));
      const id = nextId++;
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => {
          pending.delete(id);
          reject(new Error(`${script} did not answer ${type} in time`));
        }, timeoutMs);
        pending.set(id, {
          resolve: (m) => {
            clearTimeout(timer);
            resolve(m);
          },
          reject: (e) => {
            clearTimeout(timer);
            reject(e);
          },
        });
        child.send({ id, type, ...payload });
      });
    },
    async stop() {
      if (exited) return;
      stopping = true;
      child.kill("SIGTERM");
      const timer = setTimeout(() => child.kill("SIGKILL"), 5000);
      await exit;
      clearTimeout(timer);
    },
  };
}

/** ChildHandler answers one kind of request inside a bench child. */
export type ChildHandler = (message: ChildMessage) => Promise<Record<string, unknown>> | Record<string, unknown>;

/**
 * serveParent is the child's side: it reports ready, answers the runner's
 * requests with the given handlers, and exits when the runner goes away.
 */
export function serveParent(ready: Record<string, unknown>, handlers: Record<string, ChildHandler>): void {
  process.on("message", (message: ChildMessage) => {
    const handler = handlers[message.type];
    if (message.id === undefined) return;
    // A request this peer has no handler for fails at once rather than waits forever.
    if (handler === undefined) {
      process.send!({ id: message.id, type: "error", message: `this peer does not handle "${message.type}"` });
      return;
    }
    Promise.resolve()
      .then(() => handler(message))
      .then(
        (reply) => process.send!({ ...reply, id: message.id, type: `${message.type}:done` }),
        (error: unknown) => process.send!({ id: message.id, type: "error", message: String(error) }),
      );
  });
  process.on("disconnect", () => process.exit(0));
  process.send!({ ...ready, type: "ready" });
}

/**
 * initMessage resolves with the init message the runner sends right after
 * forking (see StartChildOptions.init).
 */
export function initMessage<T>(): Promise<T> {
  return new Promise((resolve) => {
    const onMessage = (message: ChildMessage) => {
      if (message.type !== "init") return;
      process.off("message", onMessage);
      resolve(message as T);
    };
    process.on("message", onMessage);
  });
}

// The gateway runs with the Node flags it ships with (npm start, the
// container), as users run it, then any in BENCH_GATEWAY_NODE_FLAGS
// (`--trace-gc`, say; a later flag overrides an earlier one); the servers
// it is compared with run on Node's defaults, as theirs do.
function peerFlags(script: string): readonly string[] {
  if (script !== "peers/gateway.ts") return [];
  const extra = (process.env.BENCH_GATEWAY_NODE_FLAGS ?? "").split(" ").filter((flag) => flag !== "");
  return [...GATEWAY_NODE_FLAGS, ...extra];
}

// BENCH_PROFILE_DIR=DIR profiles every peer (not the load clients) with
// --cpu-prof into DIR: the profile of a server under the bench's own load.
function profileFlags(script: string): string[] {
  const dir = process.env.BENCH_PROFILE_DIR;
  if (dir === undefined || dir === "" || !script.startsWith("peers/")) return [];
  return ["--cpu-prof", `--cpu-prof-dir=${dir}`];
}

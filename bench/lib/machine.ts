import { execFileSync } from "node:child_process";
import * as os from "node:os";
import { toolVersion } from "./load-tools.js";

/**
 * MachineInfo records where and when a run happened, so figures are never
 * read without their context.
 */
export interface MachineInfo {
  date: string;
  hostname: string;
  platform: string;
  cpuModel: string;
  cores: number;
  memoryGiB: number;
  /** Load averages (1, 5, 15 min) when the run started: the box is shared. */
  loadAverage: number[];
  node: string;
  v8: string;
  h2load: string;
  wrk: string;
  gitCommit: string;
}

/**
 * machineInfo collects the run's context.
 */
export async function machineInfo(): Promise<MachineInfo> {
  const cpus = os.cpus();
  let gitCommit = "unknown";
  try {
    gitCommit = execFileSync("git", ["rev-parse", "--short", "HEAD"], { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] }).trim();
  } catch {
    // Not a git checkout: the figures stand without it.
  }
  return {
    date: new Date().toISOString(),
    hostname: os.hostname(),
    platform: `${os.type()} ${os.release()} ${os.arch()}`,
    cpuModel: cpus[0]?.model.trim() ?? "unknown",
    cores: os.availableParallelism(),
    memoryGiB: Math.round((os.totalmem() / 2 ** 30) * 10) / 10,
    loadAverage: os.loadavg().map((l) => Math.round(l * 100) / 100),
    node: process.version,
    v8: process.versions.v8,
    h2load: await toolVersion("h2load", "--version"),
    wrk: (await toolVersion("wrk", "--version")).replace(/\s+Copyright.*/, ""),
    gitCommit,
  };
}

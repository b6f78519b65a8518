import { readFileSync } from "node:fs";

const TICKS_PER_SECOND = 100;

/**
 * processCpuMs is the CPU time (user + system) a process has used so far,
 * in milliseconds, from Linux's /proc; undefined where there is no /proc.
 *
 * On a shared machine a server's CPU time per call or per message moves far
 * less from run to run than its throughput does: the figure to compare
 * when other work competes for the cores.
 */
export function processCpuMs(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    // Fields after the command name, which is in parentheses and may hold spaces.
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / TICKS_PER_SECOND;
  } catch {
    return undefined;
  }
}

/**
 * cpuPer divides the CPU time used between two readings by a count, in
 * microseconds per item; undefined when either reading is missing.
 */
export function cpuPer(before: number | undefined, after: number | undefined, count: number): number | undefined {
  if (before === undefined || after === undefined || count <= 0) return undefined;
  return Math.round(((after - before) * 1000 * 10) / count) / 10;
}

import { readdirSync, readFileSync } from "node:fs";

/** Clock ticks per second of /proc/<pid>/stat's utime and stime (USER_HZ: 100 on Linux). */
const TICKS_PER_S = 100;

/**
 * CPU time (user + system, ms) used so far by `root` and every live process under it (the
 * embedded Postgres's backends, a server child). On a shared machine a rate moves with other
 * people's load; the CPU an operation costs moves much less, and bounds the rate on an idle
 * machine (cores ÷ CPU per operation). Linux only (/proc); elsewhere NaN.
 */
export function processTreeCpuMs(root = process.pid): number {
  let entries: string[];
  try {
    entries = readdirSync("/proc");
  } catch {
    return Number.NaN;
  }
  const procs = new Map<number, { ppid: number; ticks: number }>();
  for (const name of entries) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, "utf8");
      // Fields after "(comm)": state ppid ... utime(14) stime(15), counted from 1 with pid and comm.
      const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      procs.set(Number(name), { ppid: Number(fields[1]), ticks: Number(fields[11]) + Number(fields[12]) });
    } catch {
      // Exited meanwhile.
    }
  }
  let ticks = 0;
  for (const [pid, proc] of procs) {
    for (let p = pid, hops = 0; p > 1 && hops < 64; p = procs.get(p)?.ppid ?? 0, hops++) {
      if (p === root) {
        ticks += proc.ticks;
        break;
      }
    }
  }
  return (ticks * 1000) / TICKS_PER_S;
}


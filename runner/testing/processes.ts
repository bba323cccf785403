import { readFileSync } from "node:fs";

/** Whether a process is alive and not a zombie (a zombie has ended; it only waits to be reaped). */
export function isAlive(pid: number): boolean {
  if (!(pid > 0)) throw new Error(`not a pid: ${pid}`);
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2)[0] !== "Z";
  } catch {
    return false;
  }
}

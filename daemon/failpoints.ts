/**
 * Crash points for the kill -9 tests: with REACTORCIDE_FAILPOINTS="name[:n],...", the process
 * SIGKILLs itself the n-th time (the first by default) it reaches the point `name` (or, written
 * `name@detail`, reaches it for that detail: a job's or node's name), so a test can
 * kill a real `reactorcide serve` at a moment a signal from outside could only hit by luck
 * (inside a transaction, between a commit and what follows it). Unset, a point is a map lookup.
 */
import { writeSync } from "node:fs";

const wanted = new Map<string, number>();
for (const item of (process.env.REACTORCIDE_FAILPOINTS ?? "").split(",")) {
  const [name, nth] = item.trim().split(":");
  if (name) wanted.set(name, Math.max(1, Number(nth ?? 1) || 1));
}
const reached = new Map<string, number>();

export function failpoint(name: string, detail?: string): void {
  if (wanted.size === 0) return;
  for (const key of detail === undefined ? [name] : [name, `${name}@${detail}`]) {
    const nth = wanted.get(key);
    if (nth === undefined) continue;
    const count = (reached.get(key) ?? 0) + 1;
    reached.set(key, count);
    if (count !== nth) continue;
    // Said on stderr first, so a test that did not expect the death can tell what happened.
    writeSync(2, `failpoint ${key} (${count}): kill -9\n`);
    process.kill(process.pid, "SIGKILL");
  }
}

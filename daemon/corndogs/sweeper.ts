import { consola } from "consola";
import type { CorndogsClient } from "./client.ts";

export interface Sweeper {
  stop(): void;
}

/**
 * Calls CleanUpTimedOut every `intervalMs` (Corndogs has no timer of its own), so the tasks of a
 * worker that died go back to the queue once their lease runs out.
 */
export function startTimeoutSweeper(client: CorndogsClient, options: { intervalMs?: number; queue?: string } = {}): Sweeper {
  let failing = false;
  let running = false;
  const timer = setInterval(async () => {
    if (running) return;
    running = true;
    try {
      const count = await client.cleanUpTimedOut({ queue: options.queue });
      if (count > 0n) consola.info(`corndogs: ${count} task(s) timed out and went back to their queue`);
      failing = false;
    } catch (error) {
      // Warn once per outage, not every interval.
      if (!failing) consola.warn(`corndogs: CleanUpTimedOut failed: ${error instanceof Error ? error.message : String(error)}`);
      failing = true;
    } finally {
      running = false;
    }
  }, options.intervalMs ?? 5_000);
  return { stop: () => clearInterval(timer) };
}

import type { Job } from "./store.ts";

type Listener = (job: Job) => void;

/**
 * "A job's status changed", in process: commit statuses and pull request summaries follow jobs
 * without polling. Listeners must not throw into the caller; each is isolated. What a restart
 * misses is reconciled from the database by the listeners themselves.
 */
class JobEvents {
  private readonly listeners = new Set<Listener>();

  subscribe(listener: Listener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  changed(job: Job): void {
    for (const listener of this.listeners) {
      try {
        listener(job);
      } catch (error) {
        console.error("job event listener failed:", error);
      }
    }
  }
}

export const jobEvents = new JobEvents();

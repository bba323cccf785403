/**
 * Group commit: writes that arrive while a batch is being committed wait and then go together,
 * as one statement or transaction (one fsync for the batch instead of one each), and every
 * caller is answered only after the commit that holds its write.
 *
 *   const inserts = new GroupCommit((items) => insertMany(items));
 *   const row = await inserts.add(item); // resolves with insertMany's result for this item
 *
 * When a batch fails, each of its items is tried again alone, so one bad item fails only its
 * own caller. A lone call goes at once (no added latency). Reads batched so (project lookups)
 * start after every call in them arrived, so none sees data older than its call.
 */
export interface GroupCommitOptions {
  /**
   * Batches in flight at once: two lets one batch fill while the other waits for its commit
   * (measured on 2 cores for Corndogs' submits: 1 and 4 to 10 were no better).
   */
  inFlight?: number;
  /** Most items in one batch. */
  max?: number;
}

interface Pending<In, Out> {
  item: In;
  resolve(out: Out): void;
  reject(error: unknown): void;
}

export class GroupCommit<In, Out> {
  private readonly pending: Pending<In, Out>[] = [];
  private running = 0;
  private readonly inFlight: number;
  private readonly max: number;

  /** `commit` returns one result per item, in the items' order. */
  constructor(
    private readonly commit: (items: In[]) => Promise<Out[]>,
    options: GroupCommitOptions = {},
  ) {
    this.inFlight = options.inFlight ?? 2;
    this.max = options.max ?? 500;
  }

  add(item: In): Promise<Out> {
    return new Promise((resolve, reject) => {
      this.pending.push({ item, resolve, reject });
      this.flush();
    });
  }

  private flush(): void {
    while (this.running < this.inFlight && this.pending.length > 0) {
      this.running++;
      void this.run(this.pending.splice(0, this.max));
    }
  }

  private async run(batch: Pending<In, Out>[]): Promise<void> {
    let results: Out[] | undefined;
    let failure: unknown;
    try {
      results = await this.commit(batch.map((p) => p.item));
    } catch (error) {
      failure = error;
    }
    // Free the slot before answering, so a caller that sends again at once starts a new batch.
    this.running--;
    if (results && results.length !== batch.length) {
      const error = new Error(`group commit: ${results.length} results for ${batch.length} items`);
      batch.forEach((p) => p.reject(error));
    } else if (results) {
      batch.forEach((p, i) => p.resolve(results[i]!));
    } else if (batch.length === 1) {
      batch[0]!.reject(failure);
    } else {
      for (const one of batch) this.commit([one.item]).then((out) => one.resolve(out[0]!), one.reject);
    }
    this.flush();
  }
}

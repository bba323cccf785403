/**
 * Batching for a hot path's statements: calls that arrive while a batch is in flight wait and go
 * together as one statement. For inserts this is group commit: concurrent writers share one
 * transaction and one WAL flush instead of one each, and each caller is still answered only after
 * its row is committed. A read batched so starts after every call in it arrived, so none sees
 * data older than its call. A lone call goes at once (no added latency). A batch that fails is
 * run again one item at a time, so one bad item fails only its own caller. (The Corndogs task
 * store does the same for submits.)
 */
export class Batcher<I, O> {
  private readonly pending: { item: I; resolve(out: O): void; reject(error: unknown): void }[] = [];
  private inFlight = 0;

  constructor(
    /** Runs a batch in one statement; returns one output per input, in order. */
    private readonly write: (batch: I[]) => Promise<O[]>,
    /** Batches written at once: two lets one fill while the other waits for its commit. */
    private readonly maxInFlight = 2,
    private readonly maxBatch = 200,
  ) {}

  add(item: I): Promise<O> {
    return new Promise((resolve, reject) => {
      this.pending.push({ item, resolve, reject });
      this.flush();
    });
  }

  private flush(): void {
    while (this.inFlight < this.maxInFlight && this.pending.length > 0) {
      this.inFlight++;
      void this.run(this.pending.splice(0, this.maxBatch));
    }
  }

  private async run(batch: typeof this.pending): Promise<void> {
    let outs: O[] | undefined;
    let failure: unknown;
    try {
      outs = await this.write(batch.map((p) => p.item));
    } catch (error) {
      failure = error;
    }
    // Free the slot before answering, so a caller that sends again at once starts a new batch.
    this.inFlight--;
    if (outs) batch.forEach((p, i) => p.resolve(outs[i]!));
    else if (batch.length === 1) batch[0]!.reject(failure);
    else for (const one of batch) this.write([one.item]).then((o) => one.resolve(o[0]!), one.reject);
    this.flush();
  }
}

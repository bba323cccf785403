/**
 * Where a finished job's whole log lives once it leaves Postgres: a directory by default, an
 * S3-compatible bucket when configured. Keys are derived from job ids, which are checked so a
 * hostile id can never name a path outside the archive.
 */
export interface LogArchive {
  /** Human-readable place, for start-up messages. */
  readonly location: string;
  put(jobId: string, log: string): Promise<void>;
  /** The archived log, or null when this job has none. */
  get(jobId: string): Promise<string | null>;
}

const JOB_ID = /^[A-Za-z0-9][A-Za-z0-9_-]{0,127}$/;

/** `logs/<jobId>.jsonl` (one JSON line per log line), or an error naming the bad id. */
export function logKey(jobId: string): string {
  if (!JOB_ID.test(jobId)) throw new Error(`job id ${JSON.stringify(jobId)} is not valid for the log archive (letters, digits, - and _ only)`);
  return `logs/${jobId}.jsonl`;
}

/** What source preparation takes and gives: its own module, so prepare.ts and the preparers do not import each other for types. */
import { JOB_SOURCE_TYPES, type JobSourceType } from "../protocol/job-values.ts";

/** The source types are the contract's (runner/protocol/job-values.ts, job.ts's schema). */
export type SourceType = JobSourceType;
export const SOURCE_TYPES: readonly SourceType[] = JOB_SOURCE_TYPES;

export interface SourceSpec {
  type: SourceType;
  url?: string;
  ref?: string;
}

export interface PrepareOptions {
  /** From REACTORCIDE_PR_NUMBER: refs/pull/N/head and refs/merge-requests/N/head are tried. */
  prNumber?: string;
  /** Progress lines (the caller masks and prints them). */
  log?: (message: string) => void;
  signal?: AbortSignal;
}

export interface PreparedSource {
  type: SourceType;
  /** Absolute path of the prepared directory. */
  dir: string;
  /** git: the checked-out commit (full SHA). */
  commit?: string;
  /** git: the remote ref that was fetched (refs/heads/main, refs/tags/v1, refs/pull/7/head), else the ref asked for. */
  ref?: string;
}

/**
 * The problems an eval job found in the CI definitions (bad YAML, an unknown field, a job file
 * that is not there), read from its log: `reactorcide-runner eval` writes each on a line of its
 * own after EVAL_PROBLEM_PREFIX. The commit status shows the first, the pull request summary them all.
 */
import type { Sql } from "postgres";
import { EVAL_PROBLEM_PREFIX } from "../../runner/protocol/problems.ts";
import { readJobLog } from "../storage/job-logs.ts";
import { MAX_DESCRIPTION } from "./reports.ts";
import type { LogArchive } from "../storage/log-archive.ts";

/** How many a summary lists; the status names the first and the count. */
export const MAX_PROBLEMS = 20;

const ANSI = /\x1b\[[0-9;]*m/g;

export type EvalProblemReader = (evalJobId: string) => Promise<string[]>;

export function evalProblemReader(sql: Sql, archive: LogArchive): EvalProblemReader {
  // An ended job's log no longer changes: read once per job (the statuses are synced many times).
  const known = new Map<string, string[]>();
  return async (jobId) => {
    const cached = known.get(jobId);
    if (cached) return cached;
    const found: string[] = [];
    for await (const batch of readJobLog(sql, archive, jobId, 0, true)) {
      for (const { line } of batch) {
        const at = line.indexOf(EVAL_PROBLEM_PREFIX);
        if (at >= 0 && found.length < MAX_PROBLEMS) found.push(line.slice(at + EVAL_PROBLEM_PREFIX.length).replace(ANSI, "").trim());
      }
    }
    // Kept only when found: lines shipped after the job's end are read on a later sync.
    if (found.length) {
      if (known.size >= 1000) known.delete(known.keys().next().value!);
      known.set(jobId, found);
    }
    return found;
  };
}

/**
 * The eval's commit status description when it failed: the first problem, how many more, and the
 * runs that still started; the problem's text is what gets cut to fit GitHub's 140 characters.
 */
export function problemsDescription(problems: string[], launched: number): string {
  const runs = launched ? `; started ${launched} workflow run${launched === 1 ? "" : "s"}` : "";
  const more = problems.length > 1 ? ` (and ${problems.length - 1} more)` : "";
  const head = "CI definitions: ";
  const room = MAX_DESCRIPTION - head.length - more.length - runs.length;
  const first = problems[0]!.replace(/\s+/g, " ");
  return `${head}${first.length <= room ? first : `${first.slice(0, room - 1)}…`}${more}${runs}`;
}

import { pathSelected } from "../../runner/eval/match.ts";
import type { NotifyOn } from "../../schema/app/index.ts";
import { isFailed, type Ended } from "./ended.ts";

/** The parts of a rule that decide whether it fires. */
export interface RuleFilter {
  on: NotifyOn;
  jobs: boolean;
  branches: string[];
  events: string[];
}

import { MANUAL_EVENT } from "../../runner/protocol/api/notifications.ts";
export { MANUAL_EVENT };

/**
 * Whether `rule` fires for `ended`, given the status the same workflow (or job) last ended with on
 * the same branch. Branch globs are ordered with `!` exclusions, as in workflow files; a rule with
 * branches never fires for a run without a branch.
 */
export function ruleFires(rule: RuleFilter, ended: Ended, previousStatus: string | undefined): boolean {
  if (ended.subject === "job" && !rule.jobs) return false;
  if (rule.branches.length > 0) {
    if (!ended.branch) return false;
    const patterns = rule.branches[0]!.startsWith("!") ? ["**", ...rule.branches] : rule.branches;
    if (!pathSelected(patterns, ended.branch)) return false;
  }
  if (rule.events.length > 0 && !rule.events.includes(ended.event ?? MANUAL_EVENT)) return false;
  switch (rule.on) {
    case "always":
      return true;
    case "failure":
      return isFailed(ended.status);
    case "success":
      return ended.status === "success";
    case "fixed":
      return isFixed(ended.status, previousStatus);
  }
}

/** The first success after a failure. */
export const isFixed = (status: string, previousStatus: string | undefined) =>
  status === "success" && previousStatus !== undefined && isFailed(previousStatus);

import type { TriggerRules, WorkflowEvent } from "../protocol/workflow-spec.ts";

/** What happened: the event, the branch (or tag) it concerns, and the files it changed. */
export interface EventFacts {
  event: WorkflowEvent;
  /** The branch rules match against (for pull requests: the branch they target). */
  branch?: string;
  tag?: string;
  /** null when unknown: path rules then match (run more rather than miss a job). */
  changedFiles: string[] | null;
}

const globCache = new Map<string, Bun.Glob>();
/** Globs: `*` one path segment, `**` any number of segments, `?` one character. */
export function globMatch(pattern: string, value: string): boolean {
  let glob = globCache.get(pattern);
  if (!glob) globCache.set(pattern, (glob = new Bun.Glob(pattern)));
  return glob.match(value);
}

function anyGlob(patterns: string[], value: string): boolean {
  return patterns.some((p) => globMatch(p, value));
}

/** Ordered include/exclude (`!pattern`): the last matching pattern decides, like GitHub's paths (notification branch filters use it too). */
export function pathSelected(patterns: string[], file: string): boolean {
  let selected = false;
  for (const pattern of patterns) {
    if (pattern.startsWith("!")) {
      if (globMatch(pattern.slice(1), file)) selected = false;
    } else if (globMatch(pattern, file)) selected = true;
  }
  return selected;
}

/** Why rules do not match these facts, or null when they do. */
export function mismatch(rules: TriggerRules | undefined, facts: EventFacts): string | null {
  if (!rules) return null;
  if (rules.events && !rules.events.includes(facts.event)) return `event ${facts.event} not in [${rules.events.join(", ")}]`;
  if (facts.event === "tag_created") {
    if (rules.tags) {
      if (!facts.tag || !anyGlob(rules.tags, facts.tag)) return `tag ${facts.tag ?? "(none)"} matches none of [${rules.tags.join(", ")}]`;
    } else if (rules.branches) return "tag events need `tags` rules when `branches` is set";
  } else {
    if (rules.branches && (!facts.branch || !anyGlob(rules.branches, facts.branch))) {
      return `branch ${facts.branch ?? "(none)"} matches none of [${rules.branches.join(", ")}]`;
    }
    if (rules.branches_ignore && facts.branch && anyGlob(rules.branches_ignore, facts.branch)) {
      return `branch ${facts.branch} is ignored`;
    }
  }
  if ((rules.paths || rules.paths_ignore) && facts.changedFiles) {
    let files = facts.changedFiles;
    if (rules.paths) files = files.filter((f) => pathSelected(rules.paths!, f));
    if (rules.paths_ignore) files = files.filter((f) => !anyGlob(rules.paths_ignore!, f));
    if (files.length === 0) return "no changed file matches the path rules";
  }
  return null;
}

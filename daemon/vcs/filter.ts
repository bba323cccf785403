import { globMatch } from "../../runner/eval/match.ts";
import type { WorkflowEvent } from "../../runner/protocol/workflow-spec.ts";
import type { VcsEvent } from "./event.ts";

/** What a project with empty allowed_events runs on. */
export const DEFAULT_ALLOWED_EVENTS: readonly WorkflowEvent[] = ["push", "pull_request_opened", "pull_request_updated", "tag_created"];

/**
 * Why the project's allowed_events / target_branches keep this event from running, or null.
 * target_branches (globs, as eval reads them) apply to branch events; a tag is filtered by
 * allowed_events alone, so a project limited to `main` still runs its release tags.
 */
export function filteredOut(event: VcsEvent, project: { allowedEvents: string[]; targetBranches: string[] }): string | null {
  const allowed = project.allowedEvents.length ? project.allowedEvents : DEFAULT_ALLOWED_EVENTS;
  if (!allowed.includes(event.event)) return `event ${event.event} is not in the project's allowed_events [${allowed.join(", ")}]`;
  if (event.event !== "tag_created" && project.targetBranches.length) {
    if (!event.branch || !project.targetBranches.some((g) => globMatch(g, event.branch!))) {
      return `branch ${event.branch ?? "(none)"} matches none of the project's target_branches [${project.targetBranches.join(", ")}]`;
    }
  }
  return null;
}

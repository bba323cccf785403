/**
 * The workflow decisions, written once for both engines: the local `workflow run`
 * (runner/workflow/schedule.ts) and the daemon's workflow runs (daemon/workflows/). Given the
 * end statuses of a node's dependencies it says whether the node runs or is skipped (and why);
 * given every node's status it says whether the run succeeded; and it turns a run-time trigger
 * into a node of the run (by workflow job name, or with its own command), refusing what cannot
 * run (an unknown dependency, a cycle) with a reason rather than waiting forever.
 */
import { jobEnvStrings } from "../protocol/job-spec.ts";
import type { TriggerJob } from "../protocol/trigger.ts";
import { parseCondition, shouldRun } from "../steps/condition.ts";
import { findCycle, type WorkflowJob } from "./load.ts";

/** End statuses that count as failed for `any_failed` and for the run's result. */
export const FAILED_STATUSES: readonly string[] = ["failure", "error", "timed_out"];

export interface EndedDependency {
  name: string;
  /** success, failure, error, timed_out, cancelled or skipped. */
  status: string;
}

/** Null when the node runs; otherwise why it is skipped (`condition all_success: test failure`). */
export function skipReason(node: Pick<WorkflowJob, "condition" | "if" | "spec">, deps: EndedDependency[], eventEnv: Record<string, string>): string | null {
  const failed = deps.filter((d) => FAILED_STATUSES.includes(d.status));
  if (node.condition === "all_success" && deps.some((d) => d.status !== "success")) {
    const bad = deps.filter((d) => d.status !== "success").map((d) => `${d.name} ${d.status}`);
    return `condition all_success: ${bad.join(", ")}`;
  }
  if (node.condition === "any_failed" && failed.length === 0) return "condition any_failed: no dependency failed";
  if (node.if && !shouldRun(parseCondition(node.if), { env: { ...eventEnv, ...jobEnvStrings(node.spec.env) }, steps: {}, failed: false })) {
    return `if: ${node.if}`;
  }
  return null;
}

/** A run succeeded when every node ended in success or was skipped. */
export function runSucceeded(statuses: readonly string[]): boolean {
  return statuses.every((s) => s === "success" || s === "skipped");
}

/** A name not taken yet: `deploy`, then `deploy.2`, `deploy.3`, ... */
function freeName(base: string, taken: ReadonlySet<string>): string {
  let name = base;
  for (let n = 2; taken.has(name); n++) name = `${base}.${n}`;
  return name;
}

/**
 * Turns one trigger payload's jobs into nodes of a run. `templates` are the workflow's own jobs
 * (a trigger naming one runs it again with the trigger's env); `taken` the names already in the
 * run. A dependency may name a node of the run or another job of the same payload (by the name
 * it asked for). All or nothing: a string is the reason the whole payload is refused.
 */
export function triggeredNodes(templates: readonly WorkflowJob[], triggers: readonly TriggerJob[], taken: ReadonlySet<string>): WorkflowJob[] | string {
  const names = new Set(taken);
  const asked = new Map<string, string>(); // job_name as asked → the node name it got
  const nodes: WorkflowJob[] = [];
  for (const trigger of triggers) {
    const template = templates.find((j) => j.name === trigger.job_name || j.group === trigger.job_name);
    if (!template && !trigger.job_command && !trigger.steps) {
      return `triggered job "${trigger.job_name}" is not in the workflow and has no job_command`;
    }
    const name = freeName(trigger.job_name, names);
    names.add(name);
    asked.set(trigger.job_name, name);
    const base = template?.spec ?? {};
    const own = trigger.job_command ? { command: trigger.job_command, steps: undefined } : trigger.steps ? { steps: trigger.steps, command: undefined } : {};
    nodes.push({
      name,
      group: trigger.job_name,
      spec: {
        ...base,
        name,
        ...own,
        ...(trigger.container_image ? { image: trigger.container_image } : {}),
        ...(trigger.timeout ? { timeout: trigger.timeout } : {}),
        env: { ...base.env, ...trigger.env },
      },
      dependsOn: trigger.depends_on ?? [],
      condition: trigger.condition ?? "all_success",
      ...(template?.if ? { if: template.if } : {}),
      secretEnvNames: Object.keys(trigger.env ?? {}),
    });
  }
  for (const node of nodes) {
    const unknown = node.dependsOn.filter((d) => !taken.has(d) && !asked.has(d));
    if (unknown.length) return `triggered job "${node.group}": depends_on names unknown job${unknown.length > 1 ? "s" : ""} ${unknown.map((u) => `"${u}"`).join(", ")}`;
    // Same-payload names point at the node they became; a name of the run itself stays.
    node.dependsOn = [...new Set(node.dependsOn.map((d) => (taken.has(d) ? d : asked.get(d)!)))];
  }
  const cycle = findCycle(nodes.map((n) => ({ ...n, dependsOn: n.dependsOn.filter((d) => !taken.has(d)) })));
  if (cycle) return `triggered jobs form a dependency cycle: ${cycle.join(" → ")}`;
  return nodes;
}

/**
 * How far triggers may grow a workflow run. A trigger over a limit is refused with the limit
 * named (in the parent's log and in the API), never dropped and never left waiting.
 */
export interface WorkflowLimits {
  /** Nodes in one run, the workflow file's and triggered ones together. */
  maxNodes: number;
  /** Triggers that add triggers: a job of the file is depth 0, a job it triggers depth 1, ... */
  maxDepth: number;
  /** Follow-up jobs one job may ask for over its whole life. */
  maxTriggersPerJob: number;
}

export const DEFAULT_WORKFLOW_LIMITS: WorkflowLimits = { maxNodes: 500, maxDepth: 10, maxTriggersPerJob: 100 };

const ENV: Record<keyof WorkflowLimits, string> = {
  maxNodes: "REACTORCIDE_WORKFLOW_MAX_NODES",
  maxDepth: "REACTORCIDE_WORKFLOW_MAX_DEPTH",
  maxTriggersPerJob: "REACTORCIDE_WORKFLOW_MAX_TRIGGERS_PER_JOB",
};

/** The defaults, each overridable by its environment variable (a positive whole number, or refused naming it). */
export function workflowLimitsFromEnv(env: Record<string, string | undefined>): WorkflowLimits {
  const limits = { ...DEFAULT_WORKFLOW_LIMITS };
  for (const key of Object.keys(ENV) as (keyof WorkflowLimits)[]) {
    const raw = env[ENV[key]];
    if (raw === undefined || raw === "") continue;
    const n = Number(raw);
    if (!Number.isInteger(n) || n < 1) throw new Error(`${ENV[key]}: must be a whole number of at least 1, got ${JSON.stringify(raw)}`);
    limits[key] = n;
  }
  return limits;
}

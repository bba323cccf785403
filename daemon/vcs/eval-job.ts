import type { Project } from "../api/access.ts";
import type { NewJob } from "../jobs/store.ts";
import type { VcsEvent } from "./event.ts";

export const EVAL_JOB_NAME = "eval";
/** The variable that marks an event's eval job (and names its delivery). */
export const DELIVERY_ID_ENV = "REACTORCIDE_DELIVERY_ID";
export const EVAL_CONTEXT = "reactorcide/eval";
export const DEFAULT_EVAL_IMAGE = "reactorcide/runner:dev";

/** The event as the eval job's env (REACTORCIDE_EVENT_TYPE, _BRANCH, _SHA, ...), read by `reactorcide-runner eval`. */
export function eventEnv(e: VcsEvent): Record<string, string> {
  const env: Record<string, string> = {
    REACTORCIDE_EVENT_TYPE: e.event,
    REACTORCIDE_SHA: e.sha,
    REACTORCIDE_HEAD_REPO_URL: e.headRepoUrl,
    REACTORCIDE_BASE_REPO_URL: e.baseRepoUrl,
    REACTORCIDE_IS_FORK_PR: e.isFork ? "true" : "false",
    REACTORCIDE_VCS_PROVIDER: e.provider,
  };
  if (e.branch) env.REACTORCIDE_BRANCH = e.branch;
  if (e.tag) env.REACTORCIDE_TAG = e.tag;
  if (e.prNumber !== undefined) env.REACTORCIDE_PR_NUMBER = String(e.prNumber);
  if (e.baseSha) env.REACTORCIDE_BASE_SHA = e.baseSha;
  if (e.before) env.REACTORCIDE_BEFORE_SHA = e.before;
  if (e.headRef) env.REACTORCIDE_HEAD_REF = e.headRef;
  if (e.actor) env.REACTORCIDE_ACTOR = e.actor;
  return env;
}

/**
 * The one eval job an accepted event starts: the trusted checkout in /job/ci (the project's
 * ci_source if set, else its own repository: at the pull request's base SHA, or the pushed SHA),
 * the source at the event's exact head SHA in /job/src (never the branch: a later push cannot slip
 * in), and `reactorcide-runner eval`. It gets no secrets: deciding what runs needs none.
 */
export function evalJob(project: Project, e: VcsEvent, options: { image?: string; deliveryId: string }): NewJob {
  const ciRef = project.ciSourceUrl ? (project.ciSourceRef ?? project.defaultBranch) : (e.prNumber !== undefined ? (e.baseSha ?? e.branch) : e.sha);
  return {
    projectId: project.id,
    name: EVAL_JOB_NAME,
    image: options.image ?? DEFAULT_EVAL_IMAGE,
    command: "reactorcide-runner eval",
    env: { ...eventEnv(e), [DELIVERY_ID_ENV]: options.deliveryId },
    secretRefs: [],
    source: { type: "git", url: e.headRepoUrl, ref: e.sha },
    ciSource: { type: "git", url: project.ciSourceUrl ?? project.repoUrl ?? e.baseRepoUrl, ref: ciRef ?? e.sha },
    timeoutSeconds: 600,
    // A fork's source is in /job/src: the eval job is untrusted like the jobs it starts (the process runtime refuses it; container hardening holds).
    untrusted: e.isFork,
    // Main-line pushes before pull requests, as the seed's priorities say.
    priority: e.prNumber === undefined ? 10 : 5,
  };
}

/** Whether a job (as the API shows it) is an event's eval job: in no workflow run, yet the runs it starts wait for its end. */
export function isEventEvalJob(job: { workflow_run_id: string | null; env?: Record<string, string> | null }): boolean {
  return job.workflow_run_id === null && job.env?.[DELIVERY_ID_ENV] !== undefined;
}

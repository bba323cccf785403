import type { WorkflowEvent } from "../../runner/protocol/workflow-spec.ts";
import type { VcsProvider } from "../../schema/app/vcs.ts";

/**
 * What a forge's delivery means to us, in one shape for GitHub and GitLab. Besides what eval and
 * the statuses need, it keeps what the fork pull request policy decides on (isFork,
 * authorAssociation, head and base repository and SHA).
 */
export interface VcsEvent {
  provider: VcsProvider;
  event: WorkflowEvent;
  /** Push: the pushed branch. Pull request: the branch it targets (the one rules match). */
  branch?: string;
  tag?: string;
  /** The commit statuses go on: the pushed tip, or the pull request's head. */
  sha: string;
  /** Push: the tip before the push (all zeros for a new branch). */
  before?: string;
  /** Pull request: the base branch's commit it was opened against. */
  baseSha?: string;
  prNumber?: number;
  /** Pull request: the source branch. */
  headRef?: string;
  /** Clone URL of the repository holding `sha` (a fork's, for a fork pull request). */
  headRepoUrl: string;
  /** Clone URL of the project's own repository. */
  baseRepoUrl: string;
  /** The pull request comes from another repository than the project's. */
  isFork: boolean;
  actor?: string;
  /** GitHub's author_association (OWNER, MEMBER, COLLABORATOR, CONTRIBUTOR, FIRST_TIME_CONTRIBUTOR, NONE...); GitLab has none. */
  authorAssociation?: string;
  /** Where the forge's API finds the repository: GitHub `owner/repo`, GitLab the project id. */
  apiRepo: string;
  /** The repository's web page, for messages. */
  webUrl?: string;
}

export type MapResult = { kind: "event"; event: VcsEvent } | { kind: "ignored"; reason: string };

export const ZERO_SHA = /^0+$/;

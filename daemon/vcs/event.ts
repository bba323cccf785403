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
  /** Pull request: its author (GitHub login; GitLab username when the hook names it). */
  author?: string;
  /** GitLab merge request: the author's user id, to ask the members API. */
  authorId?: number;
  /**
   * Pull request: whether its author is a maintainer (GitHub author_association OWNER, MEMBER or
   * COLLABORATOR; GitLab a member with Developer access or more, asked through its API by the
   * delivery processor before eval starts). Undefined: not asked yet.
   */
  maintainer?: boolean;
  /** Where the forge's API finds the repository: GitHub `owner/repo`, GitLab the project id. */
  apiRepo: string;
  /** The repository's web page, for messages. */
  webUrl?: string;
}

/** A pull request comment `/reactorcide approve` or `/reactorcide decline` (GitHub issue_comment, GitLab Note Hook). */
export interface VcsCommand {
  kind: "command";
  provider: VcsProvider;
  command: "approve" | "decline";
  apiRepo: string;
  prNumber: number;
  /** The commenter: GitHub login, GitLab username. */
  actor: string;
  /** GitLab: the commenter's user id (the members API takes ids). */
  actorId?: number;
  /** GitLab: the merge request's head when the note was written. */
  headSha?: string;
  commentId: string;
}

export type MapResult = { kind: "event"; event: VcsEvent } | { kind: "command"; command: VcsCommand } | { kind: "ignored"; reason: string };

export const MAINTAINER_ASSOCIATIONS: readonly string[] = ["OWNER", "MEMBER", "COLLABORATOR"];
/** GitLab's Developer role; a member with this access level or more may push, so counts as having write access. */
export const GITLAB_DEVELOPER = 30;

/** The command a comment body gives: a line that is exactly `/reactorcide approve` or `/reactorcide decline`. */
export function commentCommand(body: unknown): "approve" | "decline" | undefined {
  if (typeof body !== "string") return undefined;
  for (const line of body.split(/\r?\n/)) {
    const m = /^\s*\/reactorcide\s+(approve|decline)\s*$/.exec(line);
    if (m) return m[1] as "approve" | "decline";
  }
  return undefined;
}

export const ZERO_SHA = /^0+$/;

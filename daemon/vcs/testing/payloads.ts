/**
 * Webhook payloads for tests: GitHub's published examples (@octokit/webhooks-examples) adapted to
 * our own repositories (clone URL, name, SHAs), signed with @octokit/webhooks-methods; GitLab's as
 * its webhook documentation shows them.
 */
import examples from "@octokit/webhooks-examples";
import { sign } from "@octokit/webhooks-methods";

type Json = Record<string, any>;

export function githubExample(name: string, pick: (e: Json) => boolean = () => true): Json {
  const def = (examples as unknown as { name: string; examples: Json[] }[]).find((d) => d.name === name);
  const found = def?.examples.find(pick);
  if (!found) throw new Error(`no ${name} example matches`);
  return structuredClone(found);
}

export interface RepoIdentity {
  /** What a job container clones (git:// or http:// on the Docker bridge). */
  cloneUrl: string;
  fullName: string;
}

function adaptRepo(repo: Json, id: RepoIdentity): void {
  repo.full_name = id.fullName;
  repo.name = id.fullName.split("/")[1];
  repo.clone_url = id.cloneUrl;
  repo.html_url = `https://github.example/${id.fullName}`;
  repo.ssh_url = `git@github.example:${id.fullName}.git`;
  repo.git_url = `git://github.example/${id.fullName}.git`;
  repo.url = `https://github.example/${id.fullName}`;
}

export function githubPush(id: RepoIdentity, o: { ref: string; before: string; after: string; deleted?: boolean }): Json {
  const p = githubExample("push", (e) => e.ref === "refs/heads/master" && e.deleted === false);
  adaptRepo(p.repository, id);
  p.ref = o.ref;
  p.before = o.before;
  p.after = o.after;
  p.deleted = o.deleted ?? false;
  p.created = /^0+$/.test(o.before);
  if (p.head_commit) p.head_commit.id = o.after;
  return p;
}

export function githubPullRequest(
  base: RepoIdentity,
  o: { action: string; number: number; baseRef: string; baseSha: string; headRef: string; headSha: string; merged?: boolean; head?: RepoIdentity; association?: string },
): Json {
  const example = o.action === "closed" || o.action === "opened" || o.action === "synchronize" || o.action === "reopened" || o.action === "labeled" ? o.action : "opened";
  const p = githubExample("pull_request", (e) => e.action === example);
  p.action = o.action;
  p.number = o.number;
  adaptRepo(p.repository, base);
  const pr = p.pull_request;
  pr.number = o.number;
  pr.merged = o.merged ?? false;
  pr.base.ref = o.baseRef;
  pr.base.sha = o.baseSha;
  adaptRepo(pr.base.repo, base);
  pr.head.ref = o.headRef;
  pr.head.sha = o.headSha;
  adaptRepo(pr.head.repo, o.head ?? base);
  if (o.association) pr.author_association = o.association;
  return p;
}

/** GitHub's issue_comment example (a comment on a pull request), adapted: `/reactorcide approve` by `login`. */
export function githubIssueComment(base: RepoIdentity, o: { number: number; body: string; login: string; action?: string }): Json {
  // The published examples are comments on issues; a pull request's issue carries `pull_request`.
  const p = githubExample("issue_comment", (e) => e.action === "created");
  p.action = o.action ?? "created";
  adaptRepo(p.repository, base);
  p.issue.number = o.number;
  p.issue.pull_request = { ...(p.issue.pull_request ?? {}), url: `https://api.github.example/repos/${base.fullName}/pulls/${o.number}` };
  p.comment.body = o.body;
  p.comment.user.login = o.login;
  p.sender.login = o.login;
  return p;
}

/** Headers GitHub sends, with the signature made by @octokit/webhooks-methods. */
export async function githubHeaders(secret: string, event: string, body: string, delivery: string = crypto.randomUUID()): Promise<Record<string, string>> {
  return {
    "content-type": "application/json",
    "x-github-event": event,
    "x-github-delivery": delivery,
    "x-hub-signature-256": await sign(secret, body),
    "user-agent": "GitHub-Hookshot/test",
  };
}

export function gitlabProject(id: number, cloneUrl: string, path: string): Json {
  return { id, name: path.split("/").pop(), path_with_namespace: path, web_url: `https://gitlab.example/${path}`, git_http_url: cloneUrl, git_ssh_url: `git@gitlab.example:${path}.git`, default_branch: "main" };
}

/** GitLab's Push Hook and Tag Push Hook, as in its webhook events documentation. */
export function gitlabPush(project: Json, o: { ref: string; before: string; after: string; tag?: boolean }): Json {
  return {
    object_kind: o.tag ? "tag_push" : "push",
    event_name: o.tag ? "tag_push" : "push",
    before: o.before,
    after: o.after,
    ref: o.ref,
    checkout_sha: /^0+$/.test(o.after) ? null : o.after,
    user_id: 4,
    user_name: "John Smith",
    user_username: "jsmith",
    project_id: project.id,
    project,
    repository: { name: project.name, url: project.git_ssh_url, homepage: project.web_url, git_http_url: project.git_http_url, git_ssh_url: project.git_ssh_url },
    commits: [],
    total_commits_count: 1,
  };
}

export function gitlabMergeRequest(
  project: Json,
  o: { action: string; iid: number; target: string; source: string; sha: string; oldrev?: string; sourceProject?: Json; authorId?: number },
): Json {
  const source = o.sourceProject ?? project;
  return {
    object_kind: "merge_request",
    event_type: "merge_request",
    user: { id: 1, name: "Administrator", username: "root" },
    project,
    repository: { name: project.name, url: project.git_ssh_url, homepage: project.web_url },
    object_attributes: {
      id: 99,
      iid: o.iid,
      author_id: o.authorId ?? 1,
      target_branch: o.target,
      source_branch: o.source,
      source_project_id: source.id,
      target_project_id: project.id,
      state: o.action === "merge" ? "merged" : o.action === "close" ? "closed" : "opened",
      action: o.action,
      ...(o.oldrev ? { oldrev: o.oldrev } : {}),
      last_commit: { id: o.sha, message: "change", author: { name: "a", email: "a@example.com" } },
      source,
      target: project,
    },
  };
}

/** GitLab's Note Hook for a comment on a merge request, as its webhook events documentation shows it. */
export function gitlabNote(project: Json, o: { iid: number; body: string; user: { id: number; username: string }; sha: string; sourceProject?: Json }): Json {
  const source = o.sourceProject ?? project;
  return {
    object_kind: "note",
    event_type: "note",
    user: { id: o.user.id, name: o.user.username, username: o.user.username, email: `${o.user.username}@example.com` },
    project_id: project.id,
    project,
    repository: { name: project.name, url: project.git_ssh_url, homepage: project.web_url },
    object_attributes: { id: 1244, note: o.body, noteable_type: "MergeRequest", author_id: o.user.id, project_id: project.id, action: "create", created_at: "2026-12-02T01:00:00Z" },
    merge_request: { id: 7, iid: o.iid, source_project_id: source.id, target_project_id: project.id, last_commit: { id: o.sha, message: "change" }, source, target: project, state: "opened" },
  };
}

export function gitlabHeaders(token: string, event: string, uuid: string = crypto.randomUUID()): Record<string, string> {
  return { "content-type": "application/json", "x-gitlab-event": event, "x-gitlab-token": token, "x-gitlab-event-uuid": uuid, "idempotency-key": uuid };
}

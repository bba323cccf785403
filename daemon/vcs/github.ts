/** GitHub (and GitHub Enterprise, by vcs_api_url): webhooks, commit statuses, the pull request comment. */
import { equalConstantTime, hmacSha256Hex } from "./constant-time.ts";
import type { MapResult, VcsEvent } from "./event.ts";
import { commentCommand, MAINTAINER_ASSOCIATIONS, ZERO_SHA } from "./event.ts";
import { ForgeHttpError, forgeFetch, type CommitStatus, type Forge, type ForgeTarget, type ReportState } from "./forge.ts";

type Json = Record<string, any>;

const STATE: Record<ReportState, "pending" | "success" | "failure" | "error"> = {
  pending: "pending",
  running: "pending",
  success: "success",
  failure: "failure",
  error: "error",
  // GitHub has no cancelled state; never left pending.
  cancelled: "error",
};

function headers(target: ForgeTarget): Record<string, string> {
  return { authorization: `Bearer ${target.token}`, accept: "application/vnd.github+json", "x-github-api-version": "2022-11-28" };
}

const repoPath = (target: ForgeTarget) => target.repo.split("/").map(encodeURIComponent).join("/");

function urlsOf(repo: Json | null | undefined): string[] {
  if (!repo || typeof repo !== "object") return [];
  return [repo.clone_url, repo.html_url, repo.ssh_url, repo.git_url, repo.url].filter((u): u is string => typeof u === "string");
}

function base(payload: Json): Pick<VcsEvent, "provider" | "baseRepoUrl" | "apiRepo" | "webUrl" | "actor"> {
  const repo = payload.repository ?? {};
  return { provider: "github", baseRepoUrl: repo.clone_url ?? repo.html_url, apiRepo: repo.full_name, webUrl: repo.html_url, actor: payload.sender?.login };
}

function mapPush(p: Json): MapResult {
  const ref = typeof p.ref === "string" ? p.ref : "";
  if (p.deleted === true || (typeof p.after === "string" && ZERO_SHA.test(p.after))) return { kind: "ignored", reason: `push deleted ${ref}` };
  const common = { ...base(p), sha: p.after as string, before: p.before as string | undefined, isFork: false };
  if (ref.startsWith("refs/heads/")) {
    return { kind: "event", event: { ...common, event: "push", branch: ref.slice("refs/heads/".length), headRepoUrl: common.baseRepoUrl } };
  }
  if (ref.startsWith("refs/tags/")) {
    return { kind: "event", event: { ...common, event: "tag_created", tag: ref.slice("refs/tags/".length), headRepoUrl: common.baseRepoUrl } };
  }
  return { kind: "ignored", reason: `push to ${ref || "(no ref)"}, neither a branch nor a tag` };
}

function mapPullRequest(p: Json): MapResult {
  const pr = p.pull_request ?? {};
  const action = String(p.action ?? "");
  const event =
    action === "opened" || action === "reopened"
      ? "pull_request_opened"
      : action === "synchronize"
        ? "pull_request_updated"
        : action === "closed"
          ? pr.merged
            ? "pull_request_merged"
            : "pull_request_closed"
          : undefined;
  if (!event) return { kind: "ignored", reason: `pull_request action ${action || "(none)"} starts nothing` };
  const b = base(p);
  const headRepo = pr.head?.repo;
  const baseName = pr.base?.repo?.full_name ?? p.repository?.full_name;
  // A deleted fork has head.repo null: still from outside.
  const isFork = !headRepo || headRepo.full_name !== baseName;
  return {
    kind: "event",
    event: {
      ...b,
      event,
      branch: pr.base?.ref,
      sha: pr.head?.sha,
      baseSha: pr.base?.sha,
      prNumber: Number(p.number ?? pr.number),
      headRef: pr.head?.ref,
      headRepoUrl: headRepo?.clone_url ?? b.baseRepoUrl,
      isFork,
      authorAssociation: pr.author_association,
      author: pr.user?.login,
      maintainer: typeof pr.author_association === "string" && MAINTAINER_ASSOCIATIONS.includes(pr.author_association),
      actor: p.sender?.login ?? pr.user?.login,
    },
  };
}

/** A new comment on a pull request (GitHub sends pull request comments as issue_comment, the issue carrying `pull_request`). */
function mapIssueComment(p: Json): MapResult {
  if (p.action !== "created") return { kind: "ignored", reason: `issue_comment action ${p.action ?? "(none)"} starts nothing (a new comment may)` };
  if (!p.issue?.pull_request) return { kind: "ignored", reason: "a comment on an issue, not on a pull request" };
  const command = commentCommand(p.comment?.body);
  if (!command) return { kind: "ignored", reason: "the comment has no /reactorcide approve or /reactorcide decline line" };
  const actor = p.comment?.user?.login ?? p.sender?.login;
  if (typeof actor !== "string" || typeof p.repository?.full_name !== "string") return { kind: "ignored", reason: "the comment names no author or repository" };
  return { kind: "command", command: { kind: "command", provider: "github", command, apiRepo: p.repository.full_name, prNumber: Number(p.issue.number), actor, commentId: String(p.comment?.id ?? "") } };
}

export const github: Forge = {
  provider: "github",
  defaultApiUrl: "https://api.github.com",
  deliveryId: (h) => h.get("x-github-delivery") ?? undefined,
  eventName: (h) => h.get("x-github-event") ?? undefined,
  authentic(h, body, secret) {
    const given = h.get("x-hub-signature-256") ?? "";
    return equalConstantTime(given, `sha256=${hmacSha256Hex(secret, body)}`);
  },
  repositoryUrls(payload) {
    const p = (payload ?? {}) as Json;
    return urlsOf(p.repository);
  },
  map(eventName, payload) {
    const p = (payload ?? {}) as Json;
    if (eventName === "ping") return { kind: "ignored", reason: `ping: the webhook${p.hook_id ? ` ${p.hook_id}` : ""} reaches Reactorcide` };
    let result: MapResult;
    if (eventName === "push") result = mapPush(p);
    else if (eventName === "pull_request") result = mapPullRequest(p);
    else if (eventName === "issue_comment") return mapIssueComment(p);
    else return { kind: "ignored", reason: `event ${eventName} starts nothing (push, pull_request and issue_comment do)` };
    if (result.kind === "event") {
      const e = result.event;
      if (typeof e.sha !== "string" || !/^[0-9a-f]{40}$/.test(e.sha)) return { kind: "ignored", reason: "the payload has no commit SHA" };
      if (typeof e.apiRepo !== "string" || typeof e.baseRepoUrl !== "string") return { kind: "ignored", reason: "the payload names no repository" };
    }
    return result;
  },
  async canWrite(target, user) {
    try {
      const answer = (await forgeFetch(`${target.apiUrl}/repos/${repoPath(target)}/collaborators/${encodeURIComponent(user.login)}/permission`, { method: "GET", headers: headers(target) })) as Json;
      // `permission` is admin, write, read or none (maintain shows as write, triage as read).
      return answer?.permission === "admin" || answer?.permission === "write";
    } catch (error) {
      // 404: not a collaborator (or no such user).
      if (error instanceof ForgeHttpError && error.status === 404) return false;
      throw error;
    }
  },
  async isMaintainer(_target, event) {
    return event.maintainer === true;
  },
  async postStatus(target, status: CommitStatus) {
    await forgeFetch(`${target.apiUrl}/repos/${repoPath(target)}/statuses/${status.sha}`, {
      method: "POST",
      headers: headers(target),
      body: { state: STATE[status.state], context: status.context, description: status.description, ...(status.targetUrl ? { target_url: status.targetUrl } : {}) },
    });
  },
  async findComment(target, pr, marker) {
    for (let page = 1; page <= 10; page++) {
      const list = (await forgeFetch(`${target.apiUrl}/repos/${repoPath(target)}/issues/${pr}/comments?per_page=100&page=${page}`, {
        method: "GET",
        headers: headers(target),
      })) as Json[];
      const found = list.find((c) => typeof c.body === "string" && c.body.includes(marker));
      if (found) return String(found.id);
      if (list.length < 100) return undefined;
    }
    return undefined;
  },
  async createComment(target, pr, body) {
    const made = (await forgeFetch(`${target.apiUrl}/repos/${repoPath(target)}/issues/${pr}/comments`, { method: "POST", headers: headers(target), body: { body } })) as Json;
    return String(made.id);
  },
  async updateComment(target, _pr, id, body) {
    await forgeFetch(`${target.apiUrl}/repos/${repoPath(target)}/issues/comments/${encodeURIComponent(id)}`, { method: "PATCH", headers: headers(target), body: { body } });
  },
};

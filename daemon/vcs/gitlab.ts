/** GitLab (gitlab.com or self-managed, by vcs_api_url): webhooks, commit statuses, the merge request note. */
import { equalConstantTime } from "./constant-time.ts";
import type { MapResult, VcsEvent } from "./event.ts";
import { commentCommand, GITLAB_DEVELOPER, ZERO_SHA } from "./event.ts";
import { ForgeHttpError, forgeFetch, type Forge, type ForgeTarget, type ReportState } from "./forge.ts";

type Json = Record<string, any>;

const STATE: Record<ReportState, "pending" | "running" | "success" | "failed" | "canceled"> = {
  pending: "pending",
  running: "running",
  success: "success",
  failure: "failed",
  error: "failed",
  cancelled: "canceled",
};

const headers = (target: ForgeTarget) => ({ "private-token": target.token });
const project = (target: ForgeTarget) => encodeURIComponent(target.repo);

function urlsOf(p: Json | undefined): string[] {
  if (!p || typeof p !== "object") return [];
  return [p.git_http_url, p.git_ssh_url, p.web_url, p.http_url, p.ssh_url, p.url, p.homepage].filter((u): u is string => typeof u === "string");
}

function base(p: Json): Pick<VcsEvent, "provider" | "baseRepoUrl" | "apiRepo" | "webUrl"> {
  const proj = p.project ?? {};
  return { provider: "gitlab", baseRepoUrl: proj.git_http_url ?? proj.web_url, apiRepo: String(proj.id ?? p.project_id ?? ""), webUrl: proj.web_url };
}

function mapPush(p: Json, tagHook: boolean): MapResult {
  const ref = typeof p.ref === "string" ? p.ref : "";
  if (typeof p.after === "string" && ZERO_SHA.test(p.after)) return { kind: "ignored", reason: `push deleted ${ref}` };
  const b = base(p);
  const common = { ...b, sha: (p.checkout_sha ?? p.after) as string, before: p.before as string | undefined, isFork: false, headRepoUrl: b.baseRepoUrl, actor: p.user_username };
  if (!tagHook && ref.startsWith("refs/heads/")) return { kind: "event", event: { ...common, event: "push", branch: ref.slice("refs/heads/".length) } };
  if (tagHook && ref.startsWith("refs/tags/")) return { kind: "event", event: { ...common, event: "tag_created", tag: ref.slice("refs/tags/".length) } };
  return { kind: "ignored", reason: `push to ${ref || "(no ref)"}, neither a branch nor a tag` };
}

function mapMergeRequest(p: Json): MapResult {
  const mr = p.object_attributes ?? {};
  const action = String(mr.action ?? "");
  const event =
    action === "open" || action === "reopen"
      ? "pull_request_opened"
      : action === "update"
        ? mr.oldrev
          ? "pull_request_updated"
          : undefined
        : action === "merge"
          ? "pull_request_merged"
          : action === "close"
            ? "pull_request_closed"
            : undefined;
  if (!event) {
    const why = action === "update" ? "update without new commits" : `action ${action || "(none)"}`;
    return { kind: "ignored", reason: `merge request ${why} starts nothing` };
  }
  const b = base(p);
  const sourceProject = mr.source_project_id ?? mr.source?.id;
  const targetProject = mr.target_project_id ?? p.project?.id;
  return {
    kind: "event",
    event: {
      ...b,
      event,
      branch: mr.target_branch,
      sha: mr.last_commit?.id,
      prNumber: Number(mr.iid),
      headRef: mr.source_branch,
      headRepoUrl: mr.source?.git_http_url ?? b.baseRepoUrl,
      isFork: sourceProject === undefined || String(sourceProject) !== String(targetProject),
      ...(typeof mr.author_id === "number" ? { authorId: mr.author_id } : {}),
      // The hook names the author by id only; its user is who acted, the author when opening.
      ...(action === "open" && p.user?.username ? { author: p.user.username } : {}),
      actor: p.user?.username,
    },
  };
}

/** A new note on a merge request. */
function mapNote(p: Json): MapResult {
  const note = p.object_attributes ?? {};
  if (note.noteable_type !== "MergeRequest" || !p.merge_request) return { kind: "ignored", reason: `a note on a ${note.noteable_type ?? "(unknown)"}, not on a merge request` };
  if (note.action !== undefined && note.action !== "create") return { kind: "ignored", reason: `note action ${note.action} starts nothing (a new note may)` };
  const command = commentCommand(note.note);
  if (!command) return { kind: "ignored", reason: "the note has no /reactorcide approve or /reactorcide decline line" };
  const actor = p.user?.username;
  const apiRepo = String(p.project?.id ?? p.project_id ?? "");
  if (typeof actor !== "string" || typeof p.user?.id !== "number" || !apiRepo) return { kind: "ignored", reason: "the note names no author or project" };
  const head = p.merge_request.last_commit?.id;
  return {
    kind: "command",
    command: {
      kind: "command",
      provider: "gitlab",
      command,
      apiRepo,
      prNumber: Number(p.merge_request.iid),
      actor,
      actorId: p.user.id,
      ...(typeof head === "string" && /^[0-9a-f]{40}$/.test(head) ? { headSha: head } : {}),
      commentId: String(note.id ?? ""),
    },
  };
}

/** A project member's access level (GET /projects/:id/members/all/:user_id, inherited memberships too); 0 when not a member. */
async function accessLevel(target: ForgeTarget, userId: number): Promise<number> {
  try {
    const member = (await forgeFetch(`${target.apiUrl}/projects/${project(target)}/members/all/${userId}`, { method: "GET", headers: headers(target) })) as Json;
    return typeof member?.access_level === "number" && member.state !== "blocked" ? member.access_level : 0;
  } catch (error) {
    if (error instanceof ForgeHttpError && error.status === 404) return 0;
    throw error;
  }
}

export const gitlab: Forge = {
  provider: "gitlab",
  defaultApiUrl: "https://gitlab.com/api/v4",
  deliveryId: (h) => h.get("idempotency-key") ?? h.get("x-gitlab-event-uuid") ?? undefined,
  eventName: (h) => h.get("x-gitlab-event") ?? undefined,
  authentic(h, _body, secret) {
    return equalConstantTime(h.get("x-gitlab-token") ?? "", secret);
  },
  repositoryUrls(payload) {
    const p = (payload ?? {}) as Json;
    return [...urlsOf(p.project), ...urlsOf(p.repository)];
  },
  map(eventName, payload) {
    const p = (payload ?? {}) as Json;
    let result: MapResult;
    if (eventName === "Push Hook") result = mapPush(p, false);
    else if (eventName === "Tag Push Hook") result = mapPush(p, true);
    else if (eventName === "Merge Request Hook") result = mapMergeRequest(p);
    else if (eventName === "Note Hook") return mapNote(p);
    else return { kind: "ignored", reason: `event ${eventName} starts nothing (Push Hook, Tag Push Hook, Merge Request Hook and Note Hook do)` };
    if (result.kind === "event") {
      const e = result.event;
      if (typeof e.sha !== "string" || !/^[0-9a-f]{40}$/.test(e.sha)) return { kind: "ignored", reason: "the payload has no commit SHA" };
      if (!e.apiRepo || typeof e.baseRepoUrl !== "string") return { kind: "ignored", reason: "the payload names no project" };
    }
    return result;
  },
  async canWrite(target, user) {
    if (user.id === undefined) return false;
    return (await accessLevel(target, user.id)) >= GITLAB_DEVELOPER;
  },
  async isMaintainer(target, event) {
    if (event.authorId === undefined) return false;
    return (await accessLevel(target, event.authorId)) >= GITLAB_DEVELOPER;
  },
  async postStatus(target, status) {
    try {
      await forgeFetch(`${target.apiUrl}/projects/${project(target)}/statuses/${status.sha}`, {
        method: "POST",
        headers: headers(target),
        body: { state: STATE[status.state], name: status.context, description: status.description, ...(status.targetUrl ? { target_url: status.targetUrl } : {}) },
      });
    } catch (error) {
      // GitLab refuses a status it already has ("Cannot transition status via :run from :running"): it shows what we meant.
      if (error instanceof ForgeHttpError && error.status === 400 && /Cannot transition status/i.test(error.message)) return;
      throw error;
    }
  },
  async findComment(target, pr, marker) {
    for (let page = 1; page <= 10; page++) {
      const list = (await forgeFetch(`${target.apiUrl}/projects/${project(target)}/merge_requests/${pr}/notes?per_page=100&page=${page}`, {
        method: "GET",
        headers: headers(target),
      })) as Json[];
      const found = list.find((n) => typeof n.body === "string" && n.body.includes(marker));
      if (found) return String(found.id);
      if (list.length < 100) return undefined;
    }
    return undefined;
  },
  async createComment(target, pr, body) {
    const made = (await forgeFetch(`${target.apiUrl}/projects/${project(target)}/merge_requests/${pr}/notes`, { method: "POST", headers: headers(target), body: { body } })) as Json;
    return String(made.id);
  },
  async updateComment(target, pr, id, body) {
    await forgeFetch(`${target.apiUrl}/projects/${project(target)}/merge_requests/${pr}/notes/${encodeURIComponent(id)}`, { method: "PUT", headers: headers(target), body: { body } });
  },
};

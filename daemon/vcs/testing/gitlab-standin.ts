/**
 * A local stand-in of the GitLab REST API (v4), for tests: commit statuses and merge request
 * notes as GitLab's API documentation describes them (PRIVATE-TOKEN, states pending, running,
 * success, failed, canceled; a repeated state is refused with "Cannot transition status").
 */
import { startStandIn, type StandInControls } from "./forge-standin.ts";

const STATES = ["pending", "running", "success", "failed", "canceled", "skipped"];

export interface GitlabStandIn extends StandInControls {
  statuses(project: string, sha: string): { status: string; name: string; description?: string; target_url?: string }[];
  latest(project: string, sha: string): Record<string, string>;
  notes(project: string, mr: number): { id: number; body: string }[];
  /** A user's membership of a project (access level 10 guest … 30 developer, 40 maintainer, 50 owner); null removes it (404). */
  setMember(project: string, user: { id: number; username: string }, accessLevel: number | null): void;
}

export function startGitlabStandIn(options: { token: string }): GitlabStandIn {
  const statuses = new Map<string, any[]>();
  const notes = new Map<string, { id: number; body: string }[]>();
  let nextId = 5000;
  const members = new Map<string, { id: number; username: string; access_level: number }>();
  const base = startStandIn({
    authorized: (h) => h.get("private-token") === options.token,
    unknown: () => ({ status: 404, body: { message: "404 Not Found" } }),
    handle({ method, path, body, query }) {
      let m: RegExpExecArray | null;
      if (method === "POST" && (m = /^\/api\/v4\/projects\/([^/]+)\/statuses\/([0-9a-f]{40})$/.exec(path))) {
        if (!STATES.includes(body?.state)) return { status: 400, body: { error: "state does not have a valid value" } };
        const key = `${decodeURIComponent(m[1]!)}@${m[2]}`;
        const list = statuses.get(key) ?? [];
        const name = body.name ?? body.context ?? "default";
        const previous = [...list].reverse().find((s) => s.name === name);
        if (previous && previous.status === body.state) return { status: 400, body: { message: `Cannot transition status via :${body.state} from :${previous.status}` } };
        const made = { id: nextId++, status: body.state, name, description: body.description, target_url: body.target_url };
        list.push(made);
        statuses.set(key, list);
        return { status: 201, body: made };
      }
      // GET /projects/:id/members/all/:user_id: a member, direct or inherited, as the members API documents it.
      if (method === "GET" && (m = /^\/api\/v4\/projects\/([^/]+)\/members\/all\/(\d+)$/.exec(path))) {
        const member = members.get(`${decodeURIComponent(m[1]!)}:${m[2]}`);
        if (!member) return { status: 404, body: { message: "404 Not found" } };
        return {
          status: 200,
          body: { id: member.id, username: member.username, name: member.username, state: "active", avatar_url: null, web_url: `https://gitlab.example/${member.username}`, access_level: member.access_level, created_at: "2026-01-01T00:00:00Z", expires_at: null },
        };
      }
      if ((m = /^\/api\/v4\/projects\/([^/]+)\/merge_requests\/(\d+)\/notes(?:\/(\d+))?$/.exec(path))) {
        const key = `${decodeURIComponent(m[1]!)}!${m[2]}`;
        const list = notes.get(key) ?? [];
        if (method === "GET" && !m[3]) {
          const per = Number(query.get("per_page") ?? 20);
          const page = Number(query.get("page") ?? 1);
          return { status: 200, body: list.slice((page - 1) * per, page * per) };
        }
        if (method === "POST" && !m[3]) {
          if (typeof body?.body !== "string" || !body.body) return { status: 400, body: { error: "body is missing" } };
          const made = { id: nextId++, body: body.body };
          list.push(made);
          notes.set(key, list);
          return { status: 201, body: made };
        }
        if (method === "PUT" && m[3]) {
          const note = list.find((n) => n.id === Number(m![3]));
          if (!note) return { status: 404, body: { message: "404 Not found" } };
          note.body = body.body;
          return { status: 200, body: note };
        }
      }
      return undefined;
    },
  });
  return Object.assign(base, {
    statuses: (project: string, sha: string) => statuses.get(`${project}@${sha}`) ?? [],
    latest(project: string, sha: string) {
      const out: Record<string, string> = {};
      for (const s of statuses.get(`${project}@${sha}`) ?? []) out[s.name] = s.status;
      return out;
    },
    notes: (project: string, mr: number) => notes.get(`${project}!${mr}`) ?? [],
    setMember(project: string, user: { id: number; username: string }, accessLevel: number | null) {
      if (accessLevel === null) members.delete(`${project}:${user.id}`);
      else members.set(`${project}:${user.id}`, { ...user, access_level: accessLevel });
    },
  });
}

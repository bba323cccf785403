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
}

export function startGitlabStandIn(options: { token: string }): GitlabStandIn {
  const statuses = new Map<string, any[]>();
  const notes = new Map<string, { id: number; body: string }[]>();
  let nextId = 5000;
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
  });
}

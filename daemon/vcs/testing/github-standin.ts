/**
 * A local stand-in of the GitHub REST API, for tests: the calls Reactorcide makes (commit statuses,
 * issue comments), each checked against GitHub's published OpenAPI description (@octokit/openapi):
 * the path and method must be a documented operation and the JSON body must validate against its
 * request schema, else the stand-in answers 422 naming the problem, as GitHub would.
 */
import Ajv from "ajv";
import type { ValidateFunction } from "ajv";
import { startStandIn, type StandInControls } from "./forge-standin.ts";

type Spec = { paths: Record<string, Record<string, { requestBody?: { content?: Record<string, unknown> } }>> };

let spec: Spec | undefined;
let ajv: Ajv | undefined;
const validators = new Map<string, ValidateFunction | null>();
const templates: { template: string; regex: RegExp }[] = [];

function loadSpec(): Spec {
  if (spec) return spec;
  spec = require("@octokit/openapi/generated/api.github.com.json") as Spec;
  // logger off: GitHub's description uses formats (int64, uri) Ajv does not know and would warn about on every compile.
  ajv = new Ajv({ strict: false, validateSchema: false, allErrors: true, logger: false });
  ajv.addSchema(spec as object, "github");
  for (const template of Object.keys(spec.paths)) {
    templates.push({ template, regex: new RegExp(`^${template.replace(/[.*+?^$()|[\]\\]/g, "\\$&").replace(/\{[^}]+\}/g, "[^/]+")}$`) });
  }
  return spec;
}

/** The documented operation a request is for, or why there is none. */
export function githubOperation(method: string, path: string): { template: string } | { problem: string } {
  const s = loadSpec();
  const m = method.toLowerCase();
  const found = templates.find((t) => t.regex.test(path) && s.paths[t.template]![m]);
  if (!found) return { problem: `${method} ${path} is not an operation in GitHub's OpenAPI description` };
  return { template: found.template };
}

/** Problems of an answer against the operation's documented response schema for `status` ([] when valid): the stand-in's answers are checked too. */
export function githubResponseProblems(method: string, template: string, status: number, body: unknown): string[] {
  const s = loadSpec();
  const m = method.toLowerCase();
  const key = `response ${status} ${m} ${template}`;
  if (!validators.has(key)) {
    const op = s.paths[template]![m] as { responses?: Record<string, { content?: Record<string, unknown> }> };
    const content = op.responses?.[String(status)]?.content?.["application/json"];
    const pointer = `github#/paths/${template.replace(/~/g, "~0").replace(/\//g, "~1")}/${m}/responses/${status}/content/application~1json/schema`;
    validators.set(key, content ? ajv!.compile({ $ref: pointer }) : null);
  }
  const validate = validators.get(key);
  if (!validate || validate(body)) return [];
  return (validate.errors ?? []).map((e) => `${e.instancePath || "(body)"} ${e.message}`);
}

/** GitHub's own example of a collaborator permission answer, for `login` with `permission`. */
function permissionAnswer(login: string, permission: string): Record<string, any> {
  const s = loadSpec() as unknown as { components: { examples: Record<string, { value: Record<string, any> }> } };
  const answer = structuredClone(s.components.examples["repository-collaborator-permission-response-if-user-has-admin-permissions"]!.value);
  answer.permission = permission;
  answer.role_name = permission;
  answer.user.login = login;
  return answer;
}

/** Problems of a JSON body against the operation's request schema ([] when valid). */
export function githubBodyProblems(method: string, template: string, body: unknown): string[] {
  const s = loadSpec();
  const m = method.toLowerCase();
  const key = `${m} ${template}`;
  if (!validators.has(key)) {
    const content = s.paths[template]![m]!.requestBody?.content?.["application/json"];
    const pointer = `github#/paths/${template.replace(/~/g, "~0").replace(/\//g, "~1")}/${m}/requestBody/content/application~1json/schema`;
    validators.set(key, content ? ajv!.compile({ $ref: pointer }) : null);
  }
  const validate = validators.get(key);
  if (!validate) return [];
  if (validate(body)) return [];
  return (validate.errors ?? []).map((e) => `${e.instancePath || "(body)"} ${e.message}`);
}

export interface GithubStandIn extends StandInControls {
  /** Statuses per `owner/repo@sha`, in the order they were accepted. */
  statuses(repo: string, sha: string): { state: string; context: string; description?: string; target_url?: string }[];
  /** Latest state per context for a commit. */
  latest(repo: string, sha: string): Record<string, string>;
  comments(repo: string, issue: number): { id: number; body: string }[];
  /** A user's permission on a repository (admin, maintain, write, triage, read; default read, as on a public repository), or null: no such user (404). */
  setPermission(repo: string, login: string, permission: "admin" | "maintain" | "write" | "triage" | "read" | null): void;
}

export function startGithubStandIn(options: { token: string }): GithubStandIn {
  loadSpec();
  const statuses = new Map<string, any[]>();
  const comments = new Map<string, { id: number; body: string }[]>();
  const byId = new Map<number, { id: number; body: string }>();
  const permissions = new Map<string, string | null>();
  let nextId = 1000;
  const base = startStandIn({
    authorized: (h) => h.get("authorization") === `Bearer ${options.token}` || h.get("authorization") === `token ${options.token}`,
    unknown: (method, path) => ({ status: 404, body: { message: "Not Found", documentation_url: "https://docs.github.com/rest", detail: `${method} ${path}` } }),
    handle({ method, path, body, query }) {
      const op = githubOperation(method, path);
      if ("problem" in op) return { status: 404, body: { message: "Not Found", detail: op.problem } };
      if (body !== undefined) {
        const problems = githubBodyProblems(method, op.template, body);
        if (problems.length) return { status: 422, body: { message: "Validation Failed", errors: problems } };
      }
      let m: RegExpExecArray | null;
      if (method === "POST" && (m = /^\/repos\/([^/]+)\/([^/]+)\/statuses\/([0-9a-f]{40})$/.exec(path))) {
        if ((body.description ?? "").length > 140) return { status: 422, body: { message: "Validation Failed", errors: ["description is too long (maximum is 140 characters)"] } };
        const key = `${decodeURIComponent(m[1]!)}/${decodeURIComponent(m[2]!)}@${m[3]}`;
        const list = statuses.get(key) ?? [];
        const made = { id: nextId++, state: body.state, context: body.context ?? "default", description: body.description, target_url: body.target_url };
        list.push(made);
        statuses.set(key, list);
        return { status: 201, body: made };
      }
      if ((m = /^\/repos\/([^/]+)\/([^/]+)\/issues\/(\d+)\/comments$/.exec(path))) {
        const key = `${decodeURIComponent(m[1]!)}/${decodeURIComponent(m[2]!)}#${m[3]}`;
        const list = comments.get(key) ?? [];
        if (method === "GET") {
          const per = Number(query.get("per_page") ?? 30);
          const page = Number(query.get("page") ?? 1);
          return { status: 200, body: list.slice((page - 1) * per, page * per) };
        }
        const made = { id: nextId++, body: body.body as string };
        list.push(made);
        comments.set(key, list);
        byId.set(made.id, made);
        return { status: 201, body: made };
      }
      if (method === "GET" && (m = /^\/repos\/([^/]+)\/([^/]+)\/collaborators\/([^/]+)\/permission$/.exec(path))) {
        const login = decodeURIComponent(m[3]!);
        const set = permissions.get(`${decodeURIComponent(m[1]!)}/${decodeURIComponent(m[2]!)}:${login.toLowerCase()}`);
        if (set === null) return { status: 404, body: { message: "Not Found", documentation_url: "https://docs.github.com/rest/collaborators/collaborators#get-repository-permissions-for-a-user" } };
        // GitHub's `permission` keeps the old names: maintain shows as write, triage as read.
        const role = set ?? "read";
        const answer = permissionAnswer(login, role === "maintain" ? "write" : role === "triage" ? "read" : role);
        answer.role_name = role;
        answer.user.role_name = role;
        const problems = githubResponseProblems(method, op.template, 200, answer);
        if (problems.length) throw new Error(`the stand-in's answer does not match GitHub's description: ${problems.join("; ")}`);
        return { status: 200, body: answer };
      }
      if (method === "PATCH" && (m = /^\/repos\/[^/]+\/[^/]+\/issues\/comments\/(\d+)$/.exec(path))) {
        const c = byId.get(Number(m[1]));
        if (!c) return { status: 404, body: { message: "Not Found" } };
        c.body = body.body;
        return { status: 200, body: c };
      }
      return undefined;
    },
  });
  return Object.assign(base, {
    statuses: (repo: string, sha: string) => statuses.get(`${repo}@${sha}`) ?? [],
    latest(repo: string, sha: string) {
      const out: Record<string, string> = {};
      for (const s of statuses.get(`${repo}@${sha}`) ?? []) out[s.context] = s.state;
      return out;
    },
    comments: (repo: string, issue: number) => comments.get(`${repo}#${issue}`) ?? [],
    setPermission: (repo: string, login: string, permission: string | null) => void permissions.set(`${repo}:${login.toLowerCase()}`, permission),
  });
}

import { roleAtLeast } from "../../runner/protocol/index.ts";
import type { ProjectRole, TokenScope } from "../../schema/app/index.ts";
import { sessionPrincipal, sessionSecretOf } from "../auth/sessions.ts";
import { authenticate, type Principal } from "../auth/tokens.ts";
import type { Db } from "../db/client.ts";
import { GroupCommit } from "../db/group-commit.ts";
import { findProject, memberProjectIds, projectsWithRoles, roleOf, type Project, type ProjectAsk, type ProjectWithRole } from "../projects/store.ts";
import { ApiError, forbidden, unauthorized } from "./errors.ts";

// The VCS code reads projects through here (daemon/projects/store.ts holds the queries).
export { findProject, type Project };

/**
 * Paths under /api/v1 that authenticate some other way (e.g. a signed webhook) and so are let
 * through to their handler without a token. Every other /api/v1 request is authenticated
 * before its body is read (app.ts).
 */
export const TOKENLESS_PATHS: readonly RegExp[] = [/^\/api\/v1\/webhooks\/(github|gitlab)$/];

export const needsToken = (pathname: string) => pathname.startsWith("/api/v1/") && !TOKENLESS_PATHS.some((p) => p.test(pathname));

// One lookup per request: app.ts authenticates before the body is read, the handler asks again.
const principals = new WeakMap<Headers, Promise<Principal | undefined>>();

/**
 * The caller behind the request's credentials, any scope: `Authorization: Bearer <token>` or,
 * without that header, the dashboard's session cookie (whose CSRF check app.ts makes first).
 */
export async function principalOf(db: Db, headers: Headers): Promise<Principal> {
  const header = headers.get("authorization");
  const session = header === null ? sessionSecretOf(headers) : undefined;
  if (session !== undefined) {
    let found = principals.get(headers);
    if (!found) principals.set(headers, (found = sessionPrincipal(db, session)));
    const principal = await found;
    if (!principal) throw unauthorized("the session has ended or expired; sign in again");
    return principal;
  }
  const match = /^Bearer\s+(\S+)$/i.exec(header ?? "");
  if (!match) throw unauthorized();
  let found = principals.get(headers);
  if (!found) principals.set(headers, (found = authenticate(db, match[1]!)));
  const principal = await found;
  if (!principal) throw unauthorized("the token is unknown, revoked or expired");
  return principal;
}

/** The caller behind a bearer token or a session (principalOf), which must carry `scope` (or one of several). */
export async function requirePrincipal(db: Db, headers: Headers, scope: TokenScope | readonly TokenScope[]): Promise<Principal> {
  const principal = await principalOf(db, headers);
  const wanted: readonly TokenScope[] = typeof scope === "string" ? [scope] : scope;
  if (!wanted.some((s) => principal.scopes.includes(s))) {
    if (principal.scopes.includes("job")) throw forbidden("a job token may only trigger follow-up jobs of its own job and read that job");
    throw forbidden(wanted.includes("worker") ? "this endpoint takes a worker token" : "a worker token cannot use the public API");
  }
  return principal;
}

export function requireAdmin(principal: Principal): void {
  if (!principal.isAdmin) throw forbidden("only an administrator may do this");
}

export async function roleIn(db: Db, principal: Principal, projectId: string): Promise<ProjectRole | undefined> {
  return principal.isAdmin ? "admin" : roleOf(db, principal.userId, projectId);
}

// Concurrent requests' project and role lookups go as one statement (a busy submitter's
// requests would otherwise each cost a round trip); each lookup still starts after its request arrived.
const projectLookups = new WeakMap<Db, GroupCommit<ProjectAsk, ProjectWithRole | undefined>>();
function projectLookupOf(db: Db): GroupCommit<ProjectAsk, ProjectWithRole | undefined> {
  let lookup = projectLookups.get(db);
  if (!lookup) projectLookups.set(db, (lookup = new GroupCommit((asks) => projectsWithRoles(db, asks))));
  return lookup;
}

/**
 * The project (by id or name) if the caller holds at least `min` on it. A project the caller
 * cannot see at all answers 404, so its existence does not leak; a lower role answers 403.
 */
export async function requireProjectRole(db: Db, principal: Principal, ref: string, min: ProjectRole, field?: string): Promise<Project> {
  const found = await projectLookupOf(db).add({ ref, userId: principal.isAdmin ? undefined : principal.userId });
  const project = found?.project;
  const role = project && (principal.isAdmin ? "admin" : found.role);
  if (!project || !role) {
    throw new ApiError(404, "not_found", `project ${JSON.stringify(ref)} not found`, field);
  }
  if (!roleAtLeast(role, min)) throw forbidden(`this needs the ${min} role on project ${project.name}; you have ${role}`);
  return project;
}

/** Ids of the projects the caller may read (undefined: all, for administrators). */
export async function readableProjectIds(db: Db, principal: Principal): Promise<string[] | undefined> {
  return principal.isAdmin ? undefined : memberProjectIds(db, principal.userId);
}

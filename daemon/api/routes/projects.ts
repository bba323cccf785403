import { and, asc, eq, inArray } from "drizzle-orm";
import { t } from "elysia";
import { router } from "../router.ts";
import { VCS_PROVIDERS, FORK_PR_POLICIES, PROJECT_ROLES, projectMembers, projects, users } from "../../../schema/app/index.ts";
import { IMAGE_DESCRIPTION, IMAGE_PATTERN, ONE_LINE_PATTERN as ONE_LINE, PROJECT_NAME_PATTERN } from "../../../runner/protocol/index.ts";
import { findUserByName } from "../../auth/users.ts";
import { seal } from "../../secrets/cipher.ts";
import { readableProjectIds, requirePrincipal, requireProjectRole, type Project } from "../access.ts";
import { audit } from "../audit.ts";
import type { AppDeps } from "../deps.ts";
import { ApiError, notFound } from "../errors.ts";
import { projectView } from "../project-view.ts";

const projectFields = {
  // URLs and refs reach the runner through env files, one line per variable.
  repo_url: t.Optional(t.String({ maxLength: 2000, pattern: ONE_LINE, description: "a URL on one line (up to 2000 characters)" })),
  default_branch: t.Optional(t.String({ maxLength: 250, pattern: ONE_LINE, description: "a branch on one line (up to 250 characters)" })),
  default_image: t.Optional(t.String({ pattern: IMAGE_PATTERN, description: IMAGE_DESCRIPTION })),
  allowed_events: t.Optional(t.Array(t.String({ minLength: 1, maxLength: 100 }), { maxItems: 50 })),
  target_branches: t.Optional(t.Array(t.String({ minLength: 1, maxLength: 250 }), { maxItems: 100 })),
  ci_source_url: t.Optional(t.String({ maxLength: 2000, pattern: ONE_LINE, description: "a URL or path on one line (up to 2000 characters)" })),
  ci_source_ref: t.Optional(t.String({ maxLength: 250, pattern: ONE_LINE, description: "a branch, tag or commit on one line (up to 250 characters)" })),
  fork_pr_policy: t.Optional(t.Union(FORK_PR_POLICIES.map((p) => t.Literal(p)))),
  vcs_provider: t.Optional(t.Union(VCS_PROVIDERS.map((p) => t.Literal(p)), { description: "where webhooks come from and statuses go: github or gitlab" })),
  vcs_api_url: t.Optional(
    t.String({ maxLength: 2000, pattern: "^https?://[^\\s]+$", description: "the forge's API root (default https://api.github.com or https://gitlab.com/api/v4)" }),
  ),
  webhook_secret: t.Optional(t.String({ minLength: 8, maxLength: 500, description: "stored encrypted, never returned" })),
  vcs_token: t.Optional(t.String({ minLength: 1, maxLength: 2000, description: "stored encrypted, never returned" })),
};
const ProjectCreate = t.Object(
  { name: t.String({ pattern: PROJECT_NAME_PATTERN, description: "letters, digits, . _ - (up to 100)" }), ...projectFields },
  { additionalProperties: false },
);
const ProjectUpdate = t.Object(projectFields, { additionalProperties: false });
const MemberSet = t.Object({ role: t.Union(PROJECT_ROLES.map((r) => t.Literal(r))) }, { additionalProperties: false });

type ProjectInput = Partial<Record<keyof typeof projectFields, unknown>> & Record<string, unknown>;

export function projectRoutes(deps: AppDeps) {
  const { db } = deps;
  // Sealed as nonce || ciphertext in one column, bound to the project name and the field.
  const sealField = (name: string, field: string, value: string) => {
    const sealed = seal(deps.key, value, `project:${name}:${field}`);
    return Buffer.concat([sealed.nonce, sealed.ciphertext]);
  };
  const columns = (name: string, b: ProjectInput) => ({
    ...(b.repo_url !== undefined && { repoUrl: b.repo_url as string }),
    ...(b.default_branch !== undefined && { defaultBranch: b.default_branch as string }),
    ...(b.default_image !== undefined && { defaultImage: b.default_image as string }),
    ...(b.allowed_events !== undefined && { allowedEvents: b.allowed_events as string[] }),
    ...(b.target_branches !== undefined && { targetBranches: b.target_branches as string[] }),
    ...(b.ci_source_url !== undefined && { ciSourceUrl: b.ci_source_url as string }),
    ...(b.ci_source_ref !== undefined && { ciSourceRef: b.ci_source_ref as string }),
    ...(b.fork_pr_policy !== undefined && { forkPrPolicy: b.fork_pr_policy as Project["forkPrPolicy"] }),
    ...(b.vcs_provider !== undefined && { vcsProvider: b.vcs_provider as string }),
    ...(b.vcs_api_url !== undefined && { vcsApiUrl: (b.vcs_api_url as string).replace(/\/+$/, "") }),
    ...(b.webhook_secret !== undefined && { webhookSecretEnc: sealField(name, "webhook_secret", b.webhook_secret as string), encKeyId: deps.key.id }),
    ...(b.vcs_token !== undefined && { vcsTokenEnc: sealField(name, "vcs_token", b.vcs_token as string), encKeyId: deps.key.id }),
  });

  return router("/api/v1/projects")
    .post(
      "/",
      async ({ body, request, set }) => {
        const me = await requirePrincipal(db, request.headers, "api");
        const created = await db.transaction(async (tx) => {
          const [row] = await tx
            .insert(projects)
            .values({ name: body.name, ...columns(body.name, body) })
            .onConflictDoNothing({ target: projects.name })
            .returning();
          // Names are global (they name projects in URLs), so a taken one cannot be hidden; the answer says no more than that.
          if (!row) throw new ApiError(409, "conflict", `the project name ${JSON.stringify(body.name)} is not available; project names are unique on this server`, "name");
          await tx.insert(projectMembers).values({ projectId: row.id, userId: me.userId, role: "admin" });
          return row;
        });
        await audit(db, me, "project.create", "project", created.id, { name: created.name });
        set.status = 201;
        return projectView(created);
      },
      { body: ProjectCreate, detail: { summary: "Create a project; its creator becomes its admin" } },
    )
    .get(
      "/",
      async ({ request }) => {
        const me = await requirePrincipal(db, request.headers, "api");
        const ids = await readableProjectIds(db, me);
        if (ids && ids.length === 0) return { projects: [] };
        const rows = await db
          .select()
          .from(projects)
          .where(ids ? inArray(projects.id, ids) : undefined)
          .orderBy(asc(projects.name));
        return { projects: rows.map(projectView) };
      },
      { detail: { summary: "Projects you can read" } },
    )
    .get(
      "/:id",
      async ({ params, request }) => {
        const me = await requirePrincipal(db, request.headers, "api");
        return projectView(await requireProjectRole(db, me, params.id, "read"));
      },
      { detail: { summary: "One project, by id or name" } },
    )
    .patch(
      "/:id",
      async ({ params, body, request }) => {
        const me = await requirePrincipal(db, request.headers, "api");
        const project = await requireProjectRole(db, me, params.id, "admin");
        const [row] = await db
          .update(projects)
          .set({ ...columns(project.name, body), updatedAt: new Date() })
          .where(eq(projects.id, project.id))
          .returning();
        await audit(db, me, "project.update", "project", project.id, { fields: Object.keys(body) });
        return projectView(row!);
      },
      { body: ProjectUpdate, detail: { summary: "Change a project (admin role)" } },
    )
    .delete(
      "/:id",
      async ({ params, request }) => {
        const me = await requirePrincipal(db, request.headers, "api");
        const project = await requireProjectRole(db, me, params.id, "admin");
        await db.delete(projects).where(eq(projects.id, project.id));
        await audit(db, me, "project.delete", "project", project.id, { name: project.name });
        return { id: project.id, deleted: true };
      },
      { detail: { summary: "Delete a project with its jobs and secrets (admin role)" } },
    )
    .get(
      "/:id/members",
      async ({ params, request }) => {
        const me = await requirePrincipal(db, request.headers, "api");
        const project = await requireProjectRole(db, me, params.id, "read");
        const rows = await db
          .select({ user: users.name, role: projectMembers.role })
          .from(projectMembers)
          .innerJoin(users, eq(users.id, projectMembers.userId))
          .where(eq(projectMembers.projectId, project.id))
          .orderBy(asc(users.name));
        return { members: rows };
      },
      { detail: { summary: "Members and their roles" } },
    )
    .put(
      "/:id/members/:user",
      async ({ params, body, request }) => {
        const me = await requirePrincipal(db, request.headers, "api");
        const project = await requireProjectRole(db, me, params.id, "admin");
        const user = await findUserByName(db, params.user);
        if (!user) throw notFound(`user ${JSON.stringify(params.user)}`);
        await db
          .insert(projectMembers)
          .values({ projectId: project.id, userId: user.id, role: body.role })
          .onConflictDoUpdate({ target: [projectMembers.projectId, projectMembers.userId], set: { role: body.role } });
        await audit(db, me, "project.member.set", "project", project.id, { user: user.name, role: body.role });
        return { user: user.name, role: body.role };
      },
      { body: MemberSet, detail: { summary: "Give a user a role on the project (admin role)" } },
    )
    .delete(
      "/:id/members/:user",
      async ({ params, request }) => {
        const me = await requirePrincipal(db, request.headers, "api");
        const project = await requireProjectRole(db, me, params.id, "admin");
        const user = await findUserByName(db, params.user);
        const [row] = user
          ? await db
              .delete(projectMembers)
              .where(and(eq(projectMembers.projectId, project.id), eq(projectMembers.userId, user.id)))
              .returning({ userId: projectMembers.userId })
          : [];
        if (!row) throw notFound(`member ${JSON.stringify(params.user)}`);
        await audit(db, me, "project.member.remove", "project", project.id, { user: params.user });
        return { user: params.user, removed: true };
      },
      { detail: { summary: "Remove a member (admin role)" } },
    );
}

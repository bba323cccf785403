import { router } from "../router.ts";
import {
  MemberListSchema,
  MemberRemovedSchema,
  MemberSchema,
  MemberSetSchema,
  ProjectCreateSchema,
  ProjectDeletedSchema,
  ProjectListSchema,
  ProjectSchema,
  ProjectUpdateSchema,
  type ProjectUpdate,
} from "../../../runner/protocol/index.ts";
import { findUserByName } from "../../auth/users.ts";
import { seal } from "../../secrets/cipher.ts";
import { createProject, deleteProject, listMembers, listProjects, removeMember, setMember, updateProject, type ProjectChanges } from "../../projects/store.ts";
import { readableProjectIds, requirePrincipal, requireProjectRole } from "../access.ts";
import { answers } from "../responses.ts";
import { audit } from "../audit.ts";
import type { AppDeps } from "../deps.ts";
import { ApiError, notFound } from "../errors.ts";
import { projectView } from "../project-view.ts";

export function projectRoutes(deps: AppDeps) {
  const { db } = deps;
  // Sealed as nonce || ciphertext in one column, bound to the project name and the field.
  const sealField = (name: string, field: string, value: string) => {
    const sealed = seal(deps.key, value, `project:${name}:${field}`);
    return Buffer.concat([sealed.nonce, sealed.ciphertext]);
  };
  /** The API's fields as the store's columns; sealed values sealed here, where the key is. */
  const columns = (name: string, b: ProjectUpdate): ProjectChanges => ({
    ...(b.repo_url !== undefined && { repoUrl: b.repo_url }),
    ...(b.default_branch !== undefined && { defaultBranch: b.default_branch }),
    ...(b.default_image !== undefined && { defaultImage: b.default_image }),
    ...(b.allowed_events !== undefined && { allowedEvents: b.allowed_events }),
    ...(b.target_branches !== undefined && { targetBranches: b.target_branches }),
    ...(b.ci_source_url !== undefined && { ciSourceUrl: b.ci_source_url }),
    ...(b.ci_source_ref !== undefined && { ciSourceRef: b.ci_source_ref }),
    ...(b.fork_pr_policy !== undefined && { forkPrPolicy: b.fork_pr_policy }),
    ...(b.fork_pr_trust_maintainers !== undefined && { forkPrTrustMaintainers: b.fork_pr_trust_maintainers }),
    ...(b.fork_pr_secrets !== undefined && { forkPrSecrets: [...new Set(b.fork_pr_secrets)] }),
    ...(b.fork_pr_network !== undefined && { forkPrNetwork: b.fork_pr_network }),
    ...(b.vcs_provider !== undefined && { vcsProvider: b.vcs_provider }),
    ...(b.vcs_api_url !== undefined && { vcsApiUrl: b.vcs_api_url.replace(/\/+$/, "") }),
    ...(b.webhook_secret !== undefined && { webhookSecretEnc: sealField(name, "webhook_secret", b.webhook_secret), encKeyId: deps.key.id }),
    ...(b.vcs_token !== undefined && { vcsTokenEnc: sealField(name, "vcs_token", b.vcs_token), encKeyId: deps.key.id }),
  });

  return router("/api/v1/projects")
    .post(
      "/",
      async ({ body, request, set }) => {
        const me = await requirePrincipal(db, request.headers, "api");
        const { name, ...settings } = body;
        const created = await createProject(db, name, columns(name, settings), me.userId);
        // Names are global (they name projects in URLs), so a taken one cannot be hidden; the answer says no more than that.
        if (!created) throw new ApiError(409, "conflict", `the project name ${JSON.stringify(name)} is not available; project names are unique on this server`, "name");
        await audit(db, me, "project.create", "project", created.id, { name: created.name });
        set.status = 201;
        return projectView(created);
      },
      { body: ProjectCreateSchema, response: answers({ 201: ProjectSchema }, 409), detail: { summary: "Create a project; its creator becomes its admin" } },
    )
    .get(
      "/",
      async ({ request }) => {
        const me = await requirePrincipal(db, request.headers, "api");
        const rows = await listProjects(db, await readableProjectIds(db, me));
        return { projects: rows.map(projectView) };
      },
      { response: answers({ 200: ProjectListSchema }), detail: { summary: "Projects you can read" } },
    )
    .get(
      "/:id",
      async ({ params, request }) => {
        const me = await requirePrincipal(db, request.headers, "api");
        return projectView(await requireProjectRole(db, me, params.id, "read"));
      },
      { response: answers({ 200: ProjectSchema }, 404), detail: { summary: "One project, by id or name" } },
    )
    .patch(
      "/:id",
      async ({ params, body, request }) => {
        const me = await requirePrincipal(db, request.headers, "api");
        const project = await requireProjectRole(db, me, params.id, "admin");
        const row = await updateProject(db, project.id, columns(project.name, body));
        if (!row) throw notFound(`project ${JSON.stringify(params.id)}`);
        await audit(db, me, "project.update", "project", project.id, { fields: Object.keys(body) });
        return projectView(row);
      },
      { body: ProjectUpdateSchema, response: answers({ 200: ProjectSchema }, 404), detail: { summary: "Change a project (admin role)" } },
    )
    .delete(
      "/:id",
      async ({ params, request }) => {
        const me = await requirePrincipal(db, request.headers, "api");
        const project = await requireProjectRole(db, me, params.id, "admin");
        await deleteProject(db, project.id);
        await audit(db, me, "project.delete", "project", project.id, { name: project.name });
        return { id: project.id, deleted: true as const };
      },
      { response: answers({ 200: ProjectDeletedSchema }, 404), detail: { summary: "Delete a project with its jobs and secrets (admin role)" } },
    )
    .get(
      "/:id/members",
      async ({ params, request }) => {
        const me = await requirePrincipal(db, request.headers, "api");
        const project = await requireProjectRole(db, me, params.id, "read");
        return { members: await listMembers(db, project.id) };
      },
      { response: answers({ 200: MemberListSchema }, 404), detail: { summary: "Members and their roles" } },
    )
    .put(
      "/:id/members/:user",
      async ({ params, body, request }) => {
        const me = await requirePrincipal(db, request.headers, "api");
        const project = await requireProjectRole(db, me, params.id, "admin");
        const user = await findUserByName(db, params.user);
        if (!user) throw notFound(`user ${JSON.stringify(params.user)}`);
        await setMember(db, project.id, user.id, body.role);
        await audit(db, me, "project.member.set", "project", project.id, { user: user.name, role: body.role });
        return { user: user.name, role: body.role };
      },
      { body: MemberSetSchema, response: answers({ 200: MemberSchema }, 404), detail: { summary: "Give a user a role on the project (admin role)" } },
    )
    .delete(
      "/:id/members/:user",
      async ({ params, request }) => {
        const me = await requirePrincipal(db, request.headers, "api");
        const project = await requireProjectRole(db, me, params.id, "admin");
        const user = await findUserByName(db, params.user);
        if (!user || !(await removeMember(db, project.id, user.id))) throw notFound(`member ${JSON.stringify(params.user)}`);
        await audit(db, me, "project.member.remove", "project", project.id, { user: params.user });
        return { user: params.user, removed: true as const };
      },
      { response: answers({ 200: MemberRemovedSchema }, 404), detail: { summary: "Remove a member (admin role)" } },
    );
}

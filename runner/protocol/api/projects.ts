/** /api/v1/projects: projects, their settings and their members. */
import { Type, type Static } from "@sinclair/typebox";
import { IMAGE_DESCRIPTION, IMAGE_PATTERN, ONE_LINE_PATTERN, PROJECT_NAME_PATTERN, SECRET_KEY_PATTERN } from "../patterns.ts";
import { isoTime, literalUnion, Nullable, uuid } from "../schema-parts.ts";

export const FORK_PR_POLICIES = ["never", "approval", "always"] as const;
export type ForkPrPolicy = (typeof FORK_PR_POLICIES)[number];
/** What network a fork pull request's jobs get: the runtime's default, or none (loopback only). */
export const FORK_PR_NETWORKS = ["default", "none"] as const;
export type ForkPrNetwork = (typeof FORK_PR_NETWORKS)[number];
export const VCS_PROVIDERS = ["github", "gitlab"] as const;
export type VcsProvider = (typeof VCS_PROVIDERS)[number];
export const PROJECT_ROLES = ["read", "write", "admin"] as const;
export type ProjectRole = (typeof PROJECT_ROLES)[number];
/** Whether `role` grants at least what `min` does (the roles are in rising order). */
export const roleAtLeast = (role: ProjectRole, min: ProjectRole): boolean => PROJECT_ROLES.indexOf(role) >= PROJECT_ROLES.indexOf(min);

const oneLine = (max: number, description: string) => Type.String({ maxLength: max, pattern: ONE_LINE_PATTERN, description });

/** What a create or an update may set. URLs and refs reach the runner through env files, one line per variable. */
const settings = {
  repo_url: Type.Optional(oneLine(2000, "a URL on one line (up to 2000 characters)")),
  default_branch: Type.Optional(oneLine(250, "a branch on one line (up to 250 characters)")),
  default_image: Type.Optional(Type.String({ pattern: IMAGE_PATTERN, description: IMAGE_DESCRIPTION })),
  allowed_events: Type.Optional(Type.Array(Type.String({ minLength: 1, maxLength: 100 }), { maxItems: 50 })),
  target_branches: Type.Optional(Type.Array(Type.String({ minLength: 1, maxLength: 250 }), { maxItems: 100 })),
  ci_source_url: Type.Optional(oneLine(2000, "a URL or path on one line (up to 2000 characters)")),
  ci_source_ref: Type.Optional(oneLine(250, "a branch, tag or commit on one line (up to 250 characters)")),
  fork_pr_policy: Type.Optional(literalUnion(FORK_PR_POLICIES, { description: "fork pull requests: never run, wait for approval (default), or always run" })),
  fork_pr_trust_maintainers: Type.Optional(Type.Boolean({ description: "a maintainer's fork pull request needs no approval (default true)" })),
  fork_pr_secrets: Type.Optional(
    Type.Array(Type.String({ pattern: SECRET_KEY_PATTERN, description: "a secret name" }), { maxItems: 100, description: "secret names an approved fork pull request's jobs may get (default none)" }),
  ),
  fork_pr_network: Type.Optional(literalUnion(FORK_PR_NETWORKS, { description: "default, or none: a fork pull request's jobs get no network" })),
  vcs_provider: Type.Optional(literalUnion(VCS_PROVIDERS, { description: "where webhooks come from and statuses go: github or gitlab" })),
  vcs_api_url: Type.Optional(
    Type.String({ maxLength: 2000, pattern: "^https?://[^\\s]+$", description: "the forge's API root (default https://api.github.com or https://gitlab.com/api/v4)" }),
  ),
  webhook_secret: Type.Optional(Type.String({ minLength: 8, maxLength: 500, description: "stored encrypted, never returned" })),
  vcs_token: Type.Optional(Type.String({ minLength: 1, maxLength: 2000, description: "stored encrypted, never returned" })),
};

/** POST /api/v1/projects. */
export const ProjectCreateSchema = Type.Object(
  { name: Type.String({ pattern: PROJECT_NAME_PATTERN, description: "letters, digits, . _ - (up to 100)" }), ...settings },
  { additionalProperties: false },
);
export type ProjectCreate = Static<typeof ProjectCreateSchema>;
/** PATCH /api/v1/projects/{id}: only the fields given change. */
export const ProjectUpdateSchema = Type.Object(settings, { additionalProperties: false });
export type ProjectUpdate = Static<typeof ProjectUpdateSchema>;

/** A project as the API returns it: sealed values only as has_*. */
export const ProjectSchema = Type.Object(
  {
    id: uuid("the project's id"),
    name: Type.String(),
    repo_url: Nullable(Type.String()),
    default_branch: Type.String(),
    default_image: Nullable(Type.String({ description: "null: the worker's default" })),
    allowed_events: Type.Array(Type.String()),
    target_branches: Type.Array(Type.String()),
    ci_source_url: Nullable(Type.String()),
    ci_source_ref: Nullable(Type.String()),
    fork_pr_policy: literalUnion(FORK_PR_POLICIES),
    fork_pr_trust_maintainers: Type.Boolean(),
    fork_pr_secrets: Type.Array(Type.String()),
    fork_pr_network: literalUnion(FORK_PR_NETWORKS),
    vcs_provider: literalUnion(VCS_PROVIDERS),
    vcs_api_url: Nullable(Type.String({ description: "the forge's API root in use" })),
    has_webhook_secret: Type.Boolean(),
    has_vcs_token: Type.Boolean(),
    created_at: isoTime("created"),
    updated_at: isoTime("last changed"),
  },
  { additionalProperties: false },
);
export type ProjectView = Static<typeof ProjectSchema>;
export const ProjectListSchema = Type.Object({ projects: Type.Array(ProjectSchema) }, { additionalProperties: false });
export type ProjectList = Static<typeof ProjectListSchema>;
export const ProjectDeletedSchema = Type.Object({ id: uuid("the deleted project"), deleted: Type.Literal(true) }, { additionalProperties: false });

/** PUT /api/v1/projects/{id}/members/{user}. */
export const MemberSetSchema = Type.Object({ role: literalUnion(PROJECT_ROLES) }, { additionalProperties: false });
export const MemberSchema = Type.Object({ user: Type.String(), role: literalUnion(PROJECT_ROLES) }, { additionalProperties: false });
export type MemberView = Static<typeof MemberSchema>;
export const MemberListSchema = Type.Object({ members: Type.Array(MemberSchema) }, { additionalProperties: false });
export const MemberRemovedSchema = Type.Object({ user: Type.String(), removed: Type.Literal(true) }, { additionalProperties: false });

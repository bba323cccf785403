import { sql } from "drizzle-orm";
import { boolean, check, customType, index, integer, jsonb, pgTable, primaryKey, text, timestamp, unique, uuid } from "drizzle-orm/pg-core";
import { users } from "./users.ts";

export const bytea = customType<{ data: Buffer; driverData: Buffer }>({
  dataType: () => "bytea",
});

import { FORK_PR_NETWORKS, FORK_PR_POLICIES, PROJECT_ROLES, type ForkPrNetwork, type ForkPrPolicy, type ProjectRole } from "../../runner/protocol/api/projects.ts";
import { FORK_PR_DECISIONS, FORK_PR_DECISION_VIAS, type ForkPrDecision } from "../../runner/protocol/workflow-run.ts";
export { FORK_PR_DECISIONS, FORK_PR_NETWORKS, FORK_PR_POLICIES, PROJECT_ROLES, type ForkPrDecision, type ForkPrNetwork, type ForkPrPolicy, type ProjectRole };

export const projects = pgTable(
  "projects",
  {
    id: uuid("id").primaryKey().defaultRandom(),
    name: text("name").notNull().unique(),
    repoUrl: text("repo_url"),
    defaultBranch: text("default_branch").notNull().default("main"),
    defaultImage: text("default_image"),
    allowedEvents: jsonb("allowed_events").$type<string[]>().notNull().default([]),
    targetBranches: jsonb("target_branches").$type<string[]>().notNull().default([]),
    ciSourceUrl: text("ci_source_url"),
    ciSourceRef: text("ci_source_ref"),
    /** Which forge the webhooks come from and statuses go to (schema/app/vcs.ts VCS_PROVIDERS). */
    vcsProvider: text("vcs_provider").notNull().default("github"),
    /** The forge's API root; null: the public one (https://api.github.com, https://gitlab.com/api/v4). */
    vcsApiUrl: text("vcs_api_url"),
    forkPrPolicy: text("fork_pr_policy").$type<ForkPrPolicy>().notNull().default("approval"),
    /** A maintainer's fork pull request (GitHub OWNER/MEMBER/COLLABORATOR, GitLab Developer+) needs no approval. */
    forkPrTrustMaintainers: boolean("fork_pr_trust_maintainers").notNull().default(true),
    /** The only secret names a fork pull request's jobs may get, and only in an approved run. */
    forkPrSecrets: jsonb("fork_pr_secrets").$type<string[]>().notNull().default([]),
    forkPrNetwork: text("fork_pr_network").$type<ForkPrNetwork>().notNull().default("default"),
    // Encrypted like secrets (see daemon/secrets/cipher.ts): nonce || ciphertext || tag, plus key id.
    webhookSecretEnc: bytea("webhook_secret_enc"),
    vcsTokenEnc: bytea("vcs_token_enc"),
    encKeyId: text("enc_key_id"),
    createdAt: timestamp("created_at", { withTimezone: true }).notNull().defaultNow(),
    updatedAt: timestamp("updated_at", { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [
    check("projects_fork_pr_policy_check", sql.raw(`fork_pr_policy in (${FORK_PR_POLICIES.map((p) => `'${p}'`).join(", ")})`)),
    check("projects_vcs_provider_check", sql`vcs_provider in ('github', 'gitlab')`),
    check("projects_fork_pr_network_check", sql.raw(`fork_pr_network in (${FORK_PR_NETWORKS.map((p) => `'${p}'`).join(", ")})`)),
  ],
);


export const projectMembers = pgTable(
  "project_members",
  {
    projectId: uuid("project_id")
      .notNull()
      .references(() => projects.id, { onDelete: "cascade" }),
    userId: uuid("user_id")
      .notNull()
      .references(() => users.id, { onDelete: "cascade" }),
    role: text("role").$type<ProjectRole>().notNull(),
    createdAt: timestamp("created_at", { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [
    primaryKey({ columns: [t.projectId, t.userId] }),
    check("project_members_role_check", sql`role in ('read', 'write', 'admin')`),
  ],
);

export const secrets = pgTable(
  "secrets",
  {
    id: uuid("id").primaryKey().defaultRandom(),
    projectId: uuid("project_id")
      .notNull()
      .references(() => projects.id, { onDelete: "cascade" }),
    path: text("path").notNull().default(""),
    key: text("key").notNull(),
    // AES-256-GCM: a fresh 12-byte nonce per value; the key id says which master key sealed it.
    nonce: bytea("nonce").notNull(),
    ciphertext: bytea("ciphertext").notNull(),
    keyId: text("key_id").notNull(),
    version: integer("version").notNull().default(1),
    createdAt: timestamp("created_at", { withTimezone: true }).notNull().defaultNow(),
    updatedAt: timestamp("updated_at", { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [unique("secrets_project_path_key").on(t.projectId, t.path, t.key), index("secrets_project_idx").on(t.projectId)],
);

/**
 * A person's approval or decline of a fork pull request, bound to the project, the pull request
 * and its head and base SHAs: a new push has other SHAs and needs a decision of its own. One per
 * key: the first decision holds.
 */
export const forkPrDecisions = pgTable(
  "fork_pr_decisions",
  {
    id: uuid("id").primaryKey().defaultRandom(),
    projectId: uuid("project_id")
      .notNull()
      .references(() => projects.id, { onDelete: "cascade" }),
    prNumber: integer("pr_number").notNull(),
    headSha: text("head_sha").notNull(),
    baseSha: text("base_sha").notNull(),
    decision: text("decision").$type<ForkPrDecision>().notNull(),
    /** Who: a user name (API, CLI, dashboard) or `github:<login>` / `gitlab:<username>` (a comment). */
    decidedBy: text("decided_by").notNull(),
    via: text("via").$type<(typeof FORK_PR_DECISION_VIAS)[number]>().notNull(),
    userId: uuid("user_id").references(() => users.id, { onDelete: "set null" }),
    createdAt: timestamp("created_at", { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [
    unique("fork_pr_decisions_key").on(t.projectId, t.prNumber, t.headSha, t.baseSha),
    check("fork_pr_decisions_decision_check", sql.raw(`decision in (${FORK_PR_DECISIONS.map((d) => `'${d}'`).join(", ")})`)),
    check("fork_pr_decisions_via_check", sql.raw(`via in (${FORK_PR_DECISION_VIAS.map((d) => `'${d}'`).join(", ")})`)),
  ],
);

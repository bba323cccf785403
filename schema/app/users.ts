import { sql } from "drizzle-orm";
import { boolean, check, index, jsonb, pgTable, text, timestamp, uuid, type AnyPgColumn } from "drizzle-orm/pg-core";
import { jobs } from "./jobs.ts";

export const users = pgTable("users", {
  id: uuid("id").primaryKey().defaultRandom(),
  name: text("name").notNull().unique(),
  email: text("email"),
  isAdmin: boolean("is_admin").notNull().default(false),
  createdAt: timestamp("created_at", { withTimezone: true }).notNull().defaultNow(),
});

/**
 * What a token may do: `api` is the public API (limited by the user's roles), `worker` the
 * internal worker endpoints, `job` one running job's own trigger route and job (job_id says which).
 */
import { TOKEN_SCOPES, type TokenScope } from "../../runner/protocol/api/tokens.ts";
export { TOKEN_SCOPES, type TokenScope };

export const apiTokens = pgTable(
  "api_tokens",
  {
    id: uuid("id").primaryKey().defaultRandom(),
    userId: uuid("user_id")
      .notNull()
      .references(() => users.id, { onDelete: "cascade" }),
    name: text("name").notNull(),
    // Only the SHA-256 (hex) of the token is kept; the token itself is shown once.
    tokenHash: text("token_hash").notNull().unique(),
    scopes: jsonb("scopes").$type<TokenScope[]>().notNull().default(sql`'["api"]'::jsonb`),
    expiresAt: timestamp("expires_at", { withTimezone: true }),
    // Job tokens only: the job they belong to (revoked when it ends).
    jobId: uuid("job_id").references((): AnyPgColumn => jobs.id, { onDelete: "cascade" }),
    lastUsedAt: timestamp("last_used_at", { withTimezone: true }),
    revokedAt: timestamp("revoked_at", { withTimezone: true }),
    createdAt: timestamp("created_at", { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [
    index("api_tokens_user_idx").on(t.userId),
    index("api_tokens_job_idx").on(t.jobId),
    check("api_tokens_job_scope_check", sql`(scopes = '["job"]'::jsonb) = (job_id IS NOT NULL)`),
    // At least one scope, each a known one.
    check("api_tokens_scopes_check", sql.raw(`jsonb_array_length(scopes) > 0 AND scopes <@ '${JSON.stringify(TOKEN_SCOPES)}'::jsonb`)),
  ],
);

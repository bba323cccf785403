import { index, pgTable, text, timestamp, uuid } from "drizzle-orm/pg-core";
import { apiTokens, users } from "./users.ts";

/**
 * Dashboard sign-ins. A browser trades an API token for a session whose secret lives only in an
 * HttpOnly cookie; the row keeps its SHA-256. The session belongs to the token it was made from,
 * so revoking (or deleting) that token ends every session made with it.
 */
export const dashboardSessions = pgTable(
  "dashboard_sessions",
  {
    id: uuid("id").primaryKey().defaultRandom(),
    secretHash: text("secret_hash").notNull().unique(),
    userId: uuid("user_id")
      .notNull()
      .references(() => users.id, { onDelete: "cascade" }),
    tokenId: uuid("token_id")
      .notNull()
      .references(() => apiTokens.id, { onDelete: "cascade" }),
    expiresAt: timestamp("expires_at", { withTimezone: true }).notNull(),
    createdAt: timestamp("created_at", { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [index("dashboard_sessions_token_idx").on(t.tokenId)],
);

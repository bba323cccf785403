import { defineConfig } from "drizzle-kit";

// Application tables. The queue has its own config and migrations table (drizzle.queue.config.ts).
export default defineConfig({
  dialect: "postgresql",
  schema: "./schema/app/index.ts",
  out: "./schema/migrations/app",
  migrations: { table: "__reactorcide_migrations", schema: "public" },
});

import { defineConfig } from "drizzle-kit";

// The Corndogs queue keeps its own tables and migrations table, apart from the app schema, so
// the embedded queue server can migrate itself on start (daemon/corndogs/migrate.ts).
export default defineConfig({
  dialect: "postgresql",
  schema: "./schema/queue/tasks.ts",
  out: "./schema/migrations/queue",
  migrations: { table: "__corndogs_migrations", schema: "drizzle" },
});

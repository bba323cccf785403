// The queue's drizzle-kit migrations, imported so a compiled binary carries them.
// Add a line here for every file drizzle-kit writes (migrations.test.ts checks none is missing).
import journal from "../../schema/migrations/queue/meta/_journal.json";
import m0000 from "../../schema/migrations/queue/0000_corndogs_tasks.sql" with { type: "text" };

export const queueMigrationFiles: Readonly<Record<string, string>> = {
  "meta/_journal.json": JSON.stringify(journal),
  "0000_corndogs_tasks.sql": m0000,
};

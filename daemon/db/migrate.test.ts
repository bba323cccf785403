import { expect, test } from "bun:test";
import { readdirSync } from "node:fs";
import { join } from "node:path";
import { testDatabase } from "../testing/postgres.ts";
import { appMigrationSql } from "./app-migrations.ts";
import { connect } from "./client.ts";
import { APP_MIGRATIONS_TABLE, migrateApp } from "./migrate.ts";

test("every SQL file drizzle-kit wrote is embedded", () => {
  const dir = join(import.meta.dir, "../../schema/migrations/app");
  const files = readdirSync(dir).filter((f) => f.endsWith(".sql")).map((f) => f.replace(/\.sql$/, ""));
  expect(Object.keys(appMigrationSql).sort()).toEqual(files.sort());
});

test("migrations apply once on an empty database, concurrently and again without change", async () => {
  const { url } = await testDatabase("mig");
  const a = connect(url, 3);
  const b = connect(url, 3);
  try {
    await Promise.all([migrateApp(a), migrateApp(b)]);
    await migrateApp(a);
    const applied = await a.unsafe(`SELECT count(*)::int AS n FROM public.${APP_MIGRATIONS_TABLE}`);
    expect(applied[0]!.n).toBe(Object.keys(appMigrationSql).length);
    const tables = await a`SELECT table_name FROM information_schema.tables WHERE table_schema = 'public'`;
    expect(tables.map((t) => t.table_name)).toEqual(
      expect.arrayContaining(["users", "api_tokens", "projects", "project_members", "jobs", "workflow_runs", "secrets", "job_log_chunks", "webhook_deliveries", "workers", "audit_log"]),
    );
  } finally {
    await a.end();
    await b.end();
  }
});

import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import postgres from "postgres";
import { startEmbeddedPostgres, type EmbeddedCluster } from "../db/embedded.ts";

/**
 * One embedded Postgres cluster per test run (started on first use, stopped by preload.ts),
 * and a fresh database for each caller, so test files never see each other's rows.
 */
let cluster: Promise<{ cluster: EmbeddedCluster; dir: string }> | undefined;

function sharedCluster() {
  cluster ??= (async () => {
    const dir = mkdtempSync(join(tmpdir(), "reactorcide-test-pg-"));
    return { cluster: await startEmbeddedPostgres({ dir }), dir };
  })();
  return cluster;
}

export interface TestDatabase {
  /** postgres:// URL of a database no other test uses. */
  url: string;
  name: string;
  /** URL of the cluster's maintenance database (for tests that create more databases). */
  adminUrl: string;
}

export async function testDatabase(prefix = "t"): Promise<TestDatabase> {
  const { cluster: c } = await sharedCluster();
  const name = `${prefix}_${crypto.randomUUID().replaceAll("-", "").slice(0, 16)}`.toLowerCase();
  const admin = postgres(c.url, { max: 1, onnotice: () => {} });
  try {
    await admin.unsafe(`CREATE DATABASE "${name}"`);
  } finally {
    await admin.end();
  }
  return { url: c.urlFor(name), name, adminUrl: c.url };
}

export async function stopTestCluster(): Promise<void> {
  if (!cluster) return;
  const { cluster: c, dir } = await cluster;
  cluster = undefined;
  await c.stop();
  rmSync(dir, { recursive: true, force: true });
}

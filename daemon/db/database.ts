import { existsSync } from "node:fs";
import { readFile, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import type { Sql } from "postgres";
import { connect, openDb, type Db } from "./client.ts";
import { embeddedUrl, startEmbeddedPostgres, type EmbeddedCluster } from "./embedded.ts";
import { migrateApp } from "./migrate.ts";

const DATABASE = "reactorcide";
/** Records the running embedded cluster so other commands (token create) can join it. */
const RUNNING_FILE = "postgres.json";

export interface Database {
  url: string;
  sql: Sql;
  db: Db;
  /** How the database was reached, for the start-up line. */
  kind: "external" | "embedded" | "embedded (shared)";
  /** Closes the pool and, when this process started the embedded cluster, stops it. */
  close(): Promise<void>;
}

export interface OpenOptions {
  dataDir: string;
  /** DATABASE_URL; empty means the embedded cluster in dataDir. */
  databaseUrl?: string;
  onLog?: (line: string) => void;
  poolSize?: number;
}

/** Connects to DATABASE_URL or the data directory's embedded Postgres, and runs migrations. */
export async function openDatabase(options: OpenOptions): Promise<Database> {
  if (options.databaseUrl) {
    const where = describeDatabaseUrl(options.databaseUrl);
    const sql = connect(options.databaseUrl, options.poolSize);
    try {
      return await ready(options.databaseUrl, sql, "external", () => sql.end());
    } catch (error) {
      throw new Error(`DATABASE_URL (${where}): ${error instanceof Error ? error.message : String(error)}`);
    }
  }
  const shared = await runningCluster(options.dataDir);
  if (shared) {
    const sql = connect(shared, options.poolSize);
    return ready(shared, sql, "embedded (shared)", () => sql.end());
  }
  const cluster = await startEmbeddedPostgres({ dir: options.dataDir, onLog: options.onLog });
  const runningFile = join(options.dataDir, RUNNING_FILE);
  try {
    await ensureDatabase(cluster);
    await writeFile(runningFile, JSON.stringify({ port: cluster.port, pid: process.pid }) + "\n", { mode: 0o600 });
  } catch (error) {
    await cluster.stop();
    throw error;
  }
  const url = cluster.urlFor(DATABASE);
  const sql = connect(url, options.poolSize);
  return ready(url, sql, "embedded", async () => {
    await sql.end();
    await rm(runningFile, { force: true });
    await cluster.stop();
  });
}

async function ready(url: string, sql: Sql, kind: Database["kind"], close: () => Promise<void>): Promise<Database> {
  try {
    await migrateApp(sql);
  } catch (error) {
    await close();
    throw error;
  }
  return { url, sql, db: openDb(sql), kind, close };
}

async function ensureDatabase(cluster: EmbeddedCluster): Promise<void> {
  const admin = connect(cluster.url, 1);
  try {
    const found = await admin`SELECT 1 FROM pg_database WHERE datname = ${DATABASE}`;
    if (found.length === 0) await admin.unsafe(`CREATE DATABASE "${DATABASE}"`);
  } finally {
    await admin.end();
  }
}

/** The URL of an embedded cluster another process of ours runs in dataDir, if it answers. */
async function runningCluster(dataDir: string): Promise<string | undefined> {
  const file = join(dataDir, RUNNING_FILE);
  if (!existsSync(file)) return undefined;
  let record: { port?: unknown; pid?: unknown };
  try {
    record = JSON.parse(await readFile(file, "utf8"));
  } catch {
    return undefined;
  }
  if (typeof record.port !== "number" || typeof record.pid !== "number" || !processAlive(record.pid)) return undefined;
  const url = await embeddedUrl(dataDir, record.port, DATABASE);
  const probe = connect(url, 1);
  try {
    await probe`SELECT 1`;
    return url;
  } catch {
    return undefined;
  } finally {
    await probe.end({ timeout: 1 });
  }
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/**
 * host:port/database of a DATABASE_URL, for messages (never the password); throws a clear error
 * when it is not a postgres:// URL. The value itself is not echoed: it may hold a password.
 */
export function describeDatabaseUrl(url: string): string {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new Error("DATABASE_URL must be a URL like postgres://user:password@host:5432/database");
  }
  if (parsed.protocol !== "postgres:" && parsed.protocol !== "postgresql:") {
    throw new Error(`DATABASE_URL must start with postgres:// or postgresql://, not ${parsed.protocol}//`);
  }
  return `${parsed.hostname}:${parsed.port || 5432}${parsed.pathname}`;
}

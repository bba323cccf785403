import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { issueToken } from "../auth/tokens.ts";
import { bootstrapAdmin, ensureUser } from "../auth/users.ts";
import { buildApp } from "../api/app.ts";
import type { AppDeps } from "../api/deps.ts";
import { connect, openDb } from "../db/client.ts";
import { migrateApp } from "../db/migrate.ts";
import type { JobQueue } from "../jobs/queue.ts";
import { Notifier, type NotifierDeps } from "../notifications/dispatcher.ts";
import { masterKey } from "../secrets/cipher.ts";
import { FsLogArchive } from "../storage/fs-archive.ts";
import { testDatabase } from "./postgres.ts";

/** No worker takes jobs in API tests: submitted jobs stay queued (tests that run jobs pass a CorndogsJobQueue). */
export const idleQueue: JobQueue = { enqueue: async () => {}, cancel: async () => {} };

/** A migrated fresh database, the app built on it, an admin token and helpers for requests. */
export async function testApi(overrides: Partial<AppDeps> = {}, notifierOptions: Partial<NotifierDeps> = {}) {
  const database = await testDatabase("api");
  const sql = connect(database.url, 5);
  await migrateApp(sql);
  const db = openDb(sql);
  // Removed by close(): test runs left ~1,000 of these in /tmp.
  const archiveDir = mkdtempSync(join(tmpdir(), "rc-archive-"));
  const archive = new FsLogArchive(archiveDir);
  const key = overrides.key ?? masterKey(randomBytes(32));
  // Not started: tests that want the outbox sent call notifier.start() or runOnce().
  const notifier = new Notifier({ db, sql, archive, keys: [key], publicUrl: "http://ci.test", mail: { from: "Reactorcide <ci@test>" }, ...notifierOptions });
  const deps: AppDeps = { db, sql, queue: idleQueue, archive, key, notifier, logPollMs: 1000, ...overrides };
  // The job event bus is not started: tests hand events over with jobs.events.drain().
  const { app, metrics, workflows, jobs } = buildApp(deps);
  // Registers the subscribers now (a new one starts after the newest event), so drain() hands over every event from here on.
  await jobs.events.drain();
  const admin = (await bootstrapAdmin(db))!.token;

  /** A request through app.handle; `body` objects are sent as JSON, strings as they are. */
  async function call(method: string, path: string, options: { token?: string | null; body?: unknown; headers?: Record<string, string> } = {}) {
    const headers: Record<string, string> = { ...options.headers };
    const token = options.token === undefined ? admin : options.token;
    if (token) headers.authorization = `Bearer ${token}`;
    let body: string | undefined;
    if (options.body !== undefined) {
      body = typeof options.body === "string" ? options.body : JSON.stringify(options.body);
      headers["content-type"] ??= "application/json";
    }
    const response = await app.handle(new Request(`http://local${path}`, { method, headers, body }));
    const text = await response.text();
    let json: any;
    try {
      json = JSON.parse(text);
    } catch {
      json = undefined;
    }
    return { status: response.status, json, text, headers: response.headers };
  }

  /** A user (created if missing) with an API token; `worker` gives a worker-scoped token. */
  async function tokenFor(name: string, options: { worker?: boolean; admin?: boolean } = {}) {
    const user = await ensureUser(db, name, options.admin ?? false);
    return (await issueToken(db, { userId: user.id, name, scopes: options.worker ? ["worker"] : ["api"] })).token;
  }

  return { app, metrics, workflows, jobs, deps, db, sql, url: database.url, admin, call, tokenFor, close: async () => {
      await jobs.events.stop();
      await notifier.stop();
      await sql.end();
      rmSync(archiveDir, { recursive: true, force: true });
    } };
}

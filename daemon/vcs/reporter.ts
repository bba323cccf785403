/**
 * Sends the VCS outbox (vcs_reports): each row's latest payload until the forge accepts it, with
 * exponential backoff while the forge is down and Retry-After honoured when it rate-limits. A row
 * is leased while it is being sent, so one context's states never overtake each other, across
 * processes too; after a restart the unsent rows are simply due.
 */
import type { Sql } from "postgres";
import { findProject, type Project } from "../api/access.ts";
import type { Db } from "../db/client.ts";
import type { MasterKey } from "../secrets/cipher.ts";
import { ForgeHttpError, type Forge, type ForgeTarget } from "./forge.ts";
import { apiUrlOf, FORGES } from "./forges.ts";
import { openProjectField } from "./project-secrets.ts";
import { SUMMARY_MARKER, type CommentPayload, type StatusPayload } from "./reports.ts";

export interface ReporterOptions {
  db: Db;
  sql: Sql;
  keys: readonly MasterKey[];
  /** First retry delay; doubles per attempt up to maxBackoffMs (default 1 min: a status should not lag long behind the forge coming back). */
  baseBackoffMs?: number;
  maxBackoffMs?: number;
  /** A refusal that is not the forge being down (401, 404, 422) is given up after this many tries. */
  maxRefusals?: number;
  /** How long a claimed row stays ours. */
  leaseMs?: number;
  /** How often to look for rows another process wrote, when nothing is due sooner. */
  idleMs?: number;
  log?: (message: string) => void;
}

interface Row {
  id: number;
  updated_at: Date | string;
  project_id: string;
  kind: "status" | "comment";
  target: string;
  payload: Record<string, unknown>;
  version: number;
  remote_id: string | null;
  attempts: number;
}

export class VcsReporter {
  private timer: ReturnType<typeof setTimeout> | undefined;
  private running: Promise<void> | undefined;
  private again = false;
  private stopped = false;
  private readonly o: Required<Omit<ReporterOptions, "log">> & Pick<ReporterOptions, "log">;

  constructor(options: ReporterOptions) {
    this.o = { baseBackoffMs: 1000, maxBackoffMs: 60_000, maxRefusals: 5, leaseMs: 60_000, idleMs: 5000, ...options };
  }

  start(): void {
    this.stopped = false;
    this.kick();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.running;
  }

  /** Something was written: send now (coalesced with a pass already running). */
  kick(): void {
    if (this.stopped) return;
    if (this.running) {
      this.again = true;
      return;
    }
    clearTimeout(this.timer);
    this.running = this.pass()
      .catch((error) => this.o.log?.(`vcs reporter: ${(error as Error).message}`))
      .finally(() => {
        this.running = undefined;
        if (this.again) {
          this.again = false;
          this.kick();
        } else void this.schedule();
      });
  }

  /** Sends everything due now; resolves when nothing due is left (tests and shutdown use it). */
  async drain(): Promise<void> {
    while (this.running) await this.running;
    await this.pass(true);
  }

  private async schedule(): Promise<void> {
    if (this.stopped) return;
    const [next] = await this.o.sql<{ ms: number | null }[]>`
      SELECT extract(epoch from (min(next_attempt_at) - now())) * 1000 AS ms FROM vcs_reports
      WHERE version > sent_version AND failed_at IS NULL`.catch(() => [{ ms: null }]);
    const ms = next?.ms === null || next?.ms === undefined ? this.o.idleMs : Math.min(this.o.idleMs, Math.max(0, Number(next.ms)));
    if (this.stopped) return;
    clearTimeout(this.timer);
    this.timer = setTimeout(() => this.kick(), ms + 5);
  }

  private async claim(): Promise<Row[]> {
    return this.o.sql<Row[]>`
      UPDATE vcs_reports SET lease_until = now() + ${this.o.leaseMs} * interval '1 millisecond'
      WHERE id IN (
        SELECT id FROM vcs_reports
        WHERE version > sent_version AND failed_at IS NULL AND next_attempt_at <= now()
          AND (lease_until IS NULL OR lease_until < now())
        ORDER BY updated_at, id LIMIT 50 FOR UPDATE SKIP LOCKED)
      RETURNING updated_at, id, project_id, kind, target, payload, version, remote_id, attempts`;
  }

  private async pass(evenStopped = false): Promise<void> {
    const projects = new Map<string, Project | undefined>();
    for (;;) {
      if (this.stopped && !evenStopped) return;
      const rows = await this.claim();
      if (rows.length === 0) return;
      // In the order they changed within a project; one project's forge being down does not hold up another's.
      const byProject = new Map<string, Row[]>();
      for (const row of rows.sort((a, b) => new Date(a.updated_at).getTime() - new Date(b.updated_at).getTime() || Number(a.id) - Number(b.id))) {
        byProject.set(row.project_id, [...(byProject.get(row.project_id) ?? []), row]);
      }
      await Promise.all(
        [...byProject].map(async ([projectId, list]) => {
          if (!projects.has(projectId)) projects.set(projectId, await findProject(this.o.db, projectId));
          for (const row of list) await this.send(row, projects.get(projectId));
        }),
      );
    }
  }

  private async send(row: Row, project: Project | undefined): Promise<void> {
    const sql = this.o.sql;
    try {
      if (!project) throw new ForgeHttpError(0, "the project is gone", false);
      const forge = FORGES[project.vcsProvider as keyof typeof FORGES];
      if (!forge) throw new ForgeHttpError(0, `unknown vcs_provider ${project.vcsProvider}`, false);
      const token = openProjectField(this.o.keys, project, "vcs_token");
      if (!token) throw new ForgeHttpError(0, `project ${project.name} has no vcs_token`, false);
      const target: ForgeTarget = { apiUrl: apiUrlOf(forge, project.vcsApiUrl), token, repo: String(row.payload.repo) };
      const remoteId = await this.deliver(forge, target, row);
      await sql`
        UPDATE vcs_reports SET sent_version = greatest(sent_version, ${row.version}), lease_until = NULL, attempts = 0,
          last_error = NULL, sent_at = now(), remote_id = coalesce(${remoteId ?? null}, remote_id)
        WHERE id = ${row.id}`;
    } catch (error) {
      const e = error instanceof ForgeHttpError ? error : new ForgeHttpError(0, (error as Error).message, true);
      const attempts = row.attempts + 1;
      const giveUp = !e.retryable && attempts >= this.o.maxRefusals;
      const backoff = Math.min(this.o.maxBackoffMs, this.o.baseBackoffMs * 2 ** Math.min(row.attempts, 20));
      const wait = e.retryAfterMs !== undefined ? Math.max(e.retryAfterMs, 0) : backoff * (0.75 + Math.random() * 0.5);
      this.o.log?.(`vcs ${row.kind} ${row.target}: ${e.message}${giveUp ? " (giving up)" : `; retrying in ${Math.round(wait)} ms`}`);
      await sql`
        UPDATE vcs_reports SET attempts = ${attempts}, lease_until = NULL, last_error = ${e.message.slice(0, 1000)},
          next_attempt_at = now() + ${Math.round(wait)} * interval '1 millisecond',
          failed_at = ${giveUp ? sql`now()` : null}
        WHERE id = ${row.id}`;
    }
  }

  /** One row to the forge; returns the comment id it made, if any. */
  private async deliver(forge: Forge, target: ForgeTarget, row: Row): Promise<string | undefined> {
    if (row.kind === "status") {
      const p = row.payload as StatusPayload;
      await forge.postStatus(target, { sha: p.sha, context: p.context, state: p.state, description: p.description, targetUrl: p.targetUrl });
      return undefined;
    }
    const p = row.payload as CommentPayload;
    const id = row.remote_id ?? (await forge.findComment(target, p.pr, SUMMARY_MARKER));
    if (id) {
      await forge.updateComment(target, p.pr, id, p.body);
      return id;
    }
    return forge.createComment(target, p.pr, p.body);
  }
}

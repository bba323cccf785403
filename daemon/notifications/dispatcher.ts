/**
 * Sends what the outbox holds: woken by NOTIFY when deliveries are added, and by the due time of
 * the next retry. Each attempt holds a lease on its row; a daemon killed mid-send leaves the row to
 * the next start (or another coordinator) once the lease runs out, with the same delivery id.
 */
import { consola } from "consola";
import { eq } from "drizzle-orm";
import type { Sql } from "postgres";
import { notificationRules } from "../../schema/app/index.ts";
import type { Db } from "../db/client.ts";
import type { MasterKey } from "../secrets/cipher.ts";
import type { LogArchive } from "../storage/log-archive.ts";
import { Mailer, type MailSettings } from "./email.ts";
import { claimDue, markAttemptFailed, markDelivered, NOTIFY_CHANNEL, nextDueInMs, pruneFinished, recordTest, storePayload } from "./outbox.ts";
import { openWebhook, type Delivery, type Rule } from "./rules.ts";
import { buildSummary, sampleSummary, type RunSummary } from "./summary.ts";
import { sendWebhook } from "./webhook.ts";

export interface RetryPolicy {
  /** Delay after the first failed attempt; doubled after each further one. */
  firstDelayMs: number;
  maxDelayMs: number;
  /** A delivery older than this is given up (state `failed`). */
  giveUpMs: number;
}

export const DEFAULT_RETRY: RetryPolicy = { firstDelayMs: 10_000, maxDelayMs: 60 * 60_000, giveUpMs: 24 * 60 * 60_000 };

export interface NotifierDeps {
  db: Db;
  sql: Sql;
  archive: LogArchive;
  /** The current master key first, then older ones (webhook secrets, project secrets for masking). */
  keys: readonly MasterKey[];
  /** REACTORCIDE_PUBLIC_URL: links in notifications point under it. */
  publicUrl: string;
  mail: MailSettings;
  retry?: RetryPolicy;
  /** How long an attempt holds its row (longer than a send's own timeouts). */
  leaseMs?: number;
  /** Longest sleep between looks at the outbox when no NOTIFY arrives (a missed one only delays). */
  idleMs?: number;
}

export interface Attempt {
  delivery: Delivery;
  state: Delivery["state"];
  error?: string;
}

const DEFAULT_LEASE_MS = 60_000;
const BATCH = 10;
const PRUNE_EVERY_MS = 60 * 60_000;

export class Notifier {
  private readonly mailer: Mailer;
  private readonly retry: RetryPolicy;
  private readonly leaseMs: number;
  private stopped = true;
  private wake: (() => void) | undefined;
  private loop: Promise<void> | undefined;
  private unlisten: (() => Promise<void>) | undefined;

  constructor(private readonly deps: NotifierDeps) {
    this.mailer = new Mailer(deps.mail);
    this.retry = deps.retry ?? DEFAULT_RETRY;
    this.leaseMs = deps.leaseMs ?? DEFAULT_LEASE_MS;
  }

  /** Sets the public URL when none was configured (the API's address, known once it listens). */
  usePublicUrl(url: string): void {
    this.deps.publicUrl = url;
  }

  /** Starts sending in the background: everything already due (a previous run's leftovers) first. */
  async start(): Promise<void> {
    if (!this.stopped) return;
    this.stopped = false;
    try {
      const listener = await this.deps.sql.listen(NOTIFY_CHANNEL, () => this.wake?.());
      this.unlisten = () => listener.unlisten();
    } catch {
      // No LISTEN (a pooler, say): the idle look still finds everything.
    }
    this.loop = this.run();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.wake?.();
    await this.loop;
    await this.unlisten?.().catch(() => {});
    this.mailer.close();
  }

  private async run(): Promise<void> {
    const idle = this.deps.idleMs ?? 30_000;
    let pruned = 0;
    while (!this.stopped) {
      let sent = 0;
      try {
        if (Date.now() - pruned > PRUNE_EVERY_MS) {
          await pruneFinished(this.deps.db);
          pruned = Date.now();
        }
        sent = await this.runOnce();
      } catch (error) {
        if (this.stopped) return;
        consola.warn(`notifications: ${error instanceof Error ? error.message : String(error)}`);
      }
      if (sent > 0) continue;
      const due = await nextDueInMs(this.deps.db).catch(() => undefined);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(done, Math.min(due ?? idle, idle) + 5);
        function done() {
          clearTimeout(timer);
          resolve();
        }
        this.wake = done;
      });
      this.wake = undefined;
    }
  }

  /** One pass: claims what is due and attempts each once. Returns how many were attempted. */
  async runOnce(): Promise<number> {
    const due = await claimDue(this.deps.db, BATCH, this.leaseMs);
    await Promise.all(due.map((d) => this.attempt(d)));
    return due.length;
  }

  /** Records a sample delivery for `rule` and attempts it now; later attempts follow the usual retries. */
  async sendTest(rule: Rule, project: { id: string; name: string }, actor: string): Promise<Attempt> {
    const delivery = await recordTest(this.deps.db, rule, this.leaseMs);
    const sample = sampleSummary(this.deps.publicUrl, project, delivery.subjectId, actor);
    const payload = (await storePayload(this.deps.db, delivery.id, sample as unknown as Record<string, unknown>)) as unknown as RunSummary;
    return this.attempt({ ...delivery, payload: payload as unknown as Record<string, unknown> });
  }

  private delayAfter(attempts: number): number {
    const base = Math.min(this.retry.maxDelayMs, this.retry.firstDelayMs * 2 ** Math.max(0, attempts - 1));
    // ±20 %, so deliveries that failed together do not all come back at once.
    return Math.round(base * (0.8 + Math.random() * 0.4));
  }

  private async attempt(delivery: Delivery): Promise<Attempt> {
    const { db } = this.deps;
    try {
      const [rule] = await db.select().from(notificationRules).where(eq(notificationRules.id, delivery.ruleId)).limit(1);
      if (!rule) return { delivery, state: "failed", error: "the rule was deleted" };
      let summary = delivery.payload as unknown as RunSummary | null;
      if (!summary) {
        if (delivery.subject === "test") throw new Error("the test delivery lost its sample");
        const built = await buildSummary(this.deps, delivery.subject, delivery.subjectId, delivery.fixed);
        if (!built) {
          await markAttemptFailed(db, delivery.id, `the ${delivery.subject.replace("_", " ")} no longer exists`, 0, 0);
          return { delivery, state: "failed", error: "gone" };
        }
        summary = (await storePayload(db, delivery.id, built as unknown as Record<string, unknown>)) as unknown as RunSummary;
      }
      if (rule.target.type === "email") await this.mailer.send(rule.target.to, summary, delivery.id);
      else await sendWebhook(openWebhook(rule, this.deps.keys), summary, delivery.id);
      await markDelivered(db, delivery.id);
      return { delivery, state: "delivered" };
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      const delay = this.delayAfter(delivery.attempts);
      const state = await markAttemptFailed(db, delivery.id, message, delay, this.retry.giveUpMs);
      consola.warn(
        `notification ${delivery.id} (rule ${delivery.ruleId}) attempt ${delivery.attempts} failed: ${message}; ` +
          (state === "failed" ? "giving up" : `next attempt in ${Math.round(delay / 1000)} s`),
      );
      return { delivery, state, error: message };
    }
  }
}

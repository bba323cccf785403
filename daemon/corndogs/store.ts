import { status } from "@grpc/grpc-js";
import type { PendingQuery, Sql } from "postgres";
import { GroupCommit } from "../db/group-commit.ts";
import { nowNs } from "./clock.ts";
import { CorndogsError } from "./errors.ts";
import type { TaskNotifier } from "./notifier.ts";
import type { WireTask } from "./wire.ts";

/** Row of corndogs_tasks / corndogs_archived_tasks; int64 as the driver returns them. */
type Row = Omit<WireTask, "submit_time" | "update_time" | "timeout" | "priority"> &
  Record<"submit_time" | "update_time" | "timeout" | "priority", string | bigint>;

function toWire(row: Row): WireTask {
  return {
    uuid: row.uuid,
    queue: row.queue,
    current_state: row.current_state,
    auto_target_state: row.auto_target_state,
    submit_time: String(row.submit_time),
    update_time: String(row.update_time),
    timeout: String(row.timeout),
    payload: row.payload,
    priority: String(row.priority),
  };
}

export interface NewTask {
  queue: string;
  currentState: string;
  autoTargetState: string;
  timeout: bigint;
  payload: Buffer;
  priority: bigint;
}
export interface Claim {
  queue: string;
  currentState: string;
  overrideTimeout: bigint;
  overrideCurrentState: string;
  overrideAutoTargetState: string;
}
export interface TaskUpdate {
  uuid: string;
  /** Empty: any state; otherwise the task must be in it (FAILED_PRECONDITION). */
  expectState: string;
  newState: string;
  autoTargetState: string;
  timeout: bigint;
  priority: bigint;
  /** Empty keeps the stored payload. */
  payload: Buffer;
}
export interface Counts {
  queue: string;
  state: string;
  count: string | bigint;
}

const i64 = (n: bigint) => n.toString();

interface Archive {
  uuid: string;
  expectState: string;
  finalState: "completed" | "canceled";
}
/** A claim or an archive waiting for the next grouped statement. */
type Write = { claim: Claim; key: string } | { archive: Archive };
/** The claim half of a statement that has only archives: LIMIT 0 claims nothing. */
const NO_CLAIM: Claim = { queue: "", currentState: "", overrideTimeout: 0n, overrideCurrentState: "", overrideAutoTargetState: "" };

interface PendingSubmit {
  task: NewTask;
  uuid: string;
  now: string;
}

/**
 * The Corndogs task store on Postgres. Every operation is one statement (prepared by
 * postgres.js; submits are grouped into one INSERT), so a claim is atomic: the row is picked with FOR UPDATE SKIP LOCKED and swapped
 * in the same UPDATE.
 */
export class TaskStore {
  constructor(
    private readonly sql: Sql,
    private readonly notifier?: TaskNotifier,
  ) {}

  /**
   * Inserts the task and resolves after its commit. Submits that arrive while an INSERT is in
   * flight wait and then go together as one multi-row INSERT (group commit: one fsync for the
   * whole batch, every caller answered only after the commit).
   */
  submit(t: NewTask): Promise<WireTask> {
    // The time is taken on arrival, so FIFO order among a batch is the order the calls came in.
    return this.submits.add({ task: t, uuid: crypto.randomUUID(), now: i64(nowNs()) });
  }

  /**
   * The INSERT of `tasks` as a fragment for the caller's own statement, which commits them
   * together with its own rows (the coordinator's job rows and their tasks, atomically). Call
   * `announce` after that commit. The uuids are in the tasks' order.
   */
  insertFragment(tasks: readonly NewTask[]): { sql: PendingQuery<Row[]>; uuids: string[] } {
    // A time each, taken in order: FIFO among them is the order given.
    const batch = tasks.map((task) => ({ task, uuid: crypto.randomUUID(), now: i64(nowNs()) }));
    return { sql: this.insertRows(batch), uuids: batch.map((p) => p.uuid) };
  }

  /** After the commit of tasks inserted through insertFragment: their consumers hear of them. */
  announce(queues: Iterable<string>): void {
    for (const queue of new Set(queues)) this.notifier?.taskReady(queue);
  }

  private readonly submits = new GroupCommit<PendingSubmit, WireTask>(async (batch) => {
    const rows = await this.insertRows(batch);
    const byUuid = new Map(rows.map((row) => [row.uuid, row]));
    for (const queue of new Set(batch.map((p) => p.task.queue))) this.notifier?.taskReady(queue);
    return batch.map((p) => toWire(byUuid.get(p.uuid)!));
  });

  /** One statement whatever the batch size (arrays through unnest), so postgres.js prepares it once. */
  private insertRows(batch: PendingSubmit[]): PendingQuery<Row[]> {
    const column = <T>(pick: (p: PendingSubmit) => T) => batch.map(pick);
    return this.sql<Row[]>`
      INSERT INTO corndogs_tasks
        (uuid, queue, current_state, auto_target_state, submit_time, update_time, timeout, payload, priority)
      SELECT u, q, cs, ats, at, at, tmo, decode(p, 'hex'), pr
      FROM unnest(${column((p) => p.uuid)}::uuid[], ${column((p) => p.task.queue)}::text[],
                  ${column((p) => p.task.currentState)}::text[], ${column((p) => p.task.autoTargetState)}::text[],
                  ${column((p) => p.now)}::bigint[], ${column((p) => i64(p.task.timeout))}::bigint[],
                  ${column((p) => p.task.payload.toString("hex"))}::text[], ${column((p) => i64(p.task.priority))}::bigint[])
        AS x(u, q, cs, ats, at, tmo, p, pr)
      RETURNING *`;
  }

  /**
   * Claims the next task. Claims and archives (CompleteTask, CancelTask) that arrive while a
   * statement is in flight wait and then go together as one statement (group commit: one round
   * trip and one commit for the burst, each caller answered after it). A claim stays atomic (FOR
   * UPDATE SKIP LOCKED and the swap in one UPDATE); within a burst the best tasks go to the
   * earliest callers of the same queue, state and overrides.
   */
  claim(c: Claim): Promise<WireTask | undefined> {
    const key = [c.queue, c.currentState, i64(c.overrideTimeout), c.overrideCurrentState, c.overrideAutoTargetState].join("\0");
    return this.writes.add({ claim: c, key }) as Promise<WireTask | undefined>;
  }

  /**
   * Moves a live task to the archive with both states set to `finalState`, grouped with the
   * claims and archives that arrive together (see claim); answered after the commit.
   */
  async archive(uuid: string, expectState: string, finalState: "completed" | "canceled"): Promise<WireTask | undefined> {
    const row = await this.writes.add({ archive: { uuid, expectState, finalState } });
    if (row) return row;
    await this.refuseStale(uuid, expectState, finalState === "completed" ? "complete" : "cancel");
    return undefined;
  }

  private readonly writes = new GroupCommit<Write, WireTask | undefined>(async (batch) => {
    const results: (WireTask | undefined)[] = batch.map(() => undefined);
    const archives: number[] = [];
    const claims = new Map<string, number[]>();
    batch.forEach((w, i) => {
      if ("archive" in w) archives.push(i);
      else claims.set(w.key, [...(claims.get(w.key) ?? []), i]);
    });
    // The archives and the first kind of claim share a statement; another kind (a different
    // queue, state or overrides) goes in a statement of its own beside it.
    const [first, ...others] = claims.values();
    await Promise.all([
      this.claimAndArchive(batch, first ?? [], archives, results),
      ...others.map((kind) => this.claimAndArchive(batch, kind, [], results)),
    ]);
    return results;
    // One statement in flight at a time: the next burst waits for it and goes whole, so a
    // StreamTasks consumer's completion and next claim share the statement with the other
    // consumers' (8 streams: 0.23 commits per task against 0.42 with two in flight, Postgres CPU
    // per task 0.31-0.36 ms against 0.45-0.50, server 0.23-0.30 against 0.31-0.34).
  }, { inFlight: 1 });

  /** One statement: archives `archiveAt` and claims up to `claimAt.length` tasks for those callers. */
  private async claimAndArchive(batch: Write[], claimAt: number[], archiveAt: number[], results: (WireTask | undefined)[]) {
    const archives = archiveAt.map((i) => (batch[i] as { archive: Archive }).archive);
    const c: Claim = claimAt.length > 0 ? (batch[claimAt[0]!] as { claim: Claim }).claim : NO_CLAIM;
    const now = i64(nowNs());
    const rows = await this.sql<(Row & { op: string | null; was: string | bigint | null })[]>`
      WITH wanted AS (
        SELECT u, es, fs, op FROM unnest(${archives.map((a) => a.uuid)}::uuid[], ${archives.map((a) => a.expectState)}::text[],
                                         ${archives.map((a) => a.finalState)}::text[]) WITH ORDINALITY AS w(u, es, fs, op)
      ), gone AS (
        DELETE FROM corndogs_tasks t USING wanted
        WHERE t.uuid = wanted.u AND (wanted.es = '' OR t.current_state = wanted.es)
        RETURNING t.*, wanted.fs, wanted.op
      ), archived AS (
        INSERT INTO corndogs_archived_tasks
          (uuid, queue, current_state, auto_target_state, submit_time, update_time, timeout, payload, priority)
        SELECT uuid, queue, fs, fs, submit_time, ${now}, timeout, payload, priority FROM gone
        RETURNING *
      ), next AS (
        -- A task this statement archives is not claimed by it (a statement must not change a row twice).
        SELECT uuid, update_time FROM corndogs_tasks
        WHERE queue = ${c.queue} AND current_state = ${c.currentState} AND uuid <> ALL(SELECT u FROM wanted)
        -- NULLS LAST as in corndogs_tasks_claim_idx (the columns are NOT NULL, but the planner only
        -- walks the index for this exact order: plain DESC, NULLS FIRST, seq-scanned and sorted
        -- the whole queue on every claim).
        ORDER BY priority DESC NULLS LAST, update_time ASC
        LIMIT ${claimAt.length}
        FOR UPDATE SKIP LOCKED
      ), claimed AS (
        UPDATE corndogs_tasks t SET
          current_state = CASE WHEN ${c.overrideCurrentState}::text = '' THEN t.auto_target_state ELSE ${c.overrideCurrentState}::text END,
          auto_target_state = CASE WHEN ${c.overrideAutoTargetState}::text = '' THEN t.current_state ELSE ${c.overrideAutoTargetState}::text END,
          timeout = CASE WHEN ${i64(c.overrideTimeout)}::bigint = 0 THEN t.timeout
                         WHEN ${i64(c.overrideTimeout)}::bigint < 0 THEN 0
                         ELSE ${i64(c.overrideTimeout)}::bigint END,
          update_time = ${now}
        FROM next WHERE t.uuid = next.uuid
        RETURNING t.*, NULL::bigint AS op, next.update_time AS was
      )
      SELECT a.*, g.op, NULL::bigint AS was FROM archived a JOIN gone g ON g.uuid = a.uuid
      UNION ALL
      SELECT * FROM claimed`;
    // A task named twice among the archives is deleted once, by one request that matches its
    // state (op says which); the other finds it gone.
    const claimed: (Row & { was: string | bigint | null })[] = [];
    for (const row of rows) {
      if (row.op === null) claimed.push(row);
      else results[archiveAt[Number(row.op) - 1]!] = toWire(row);
    }
    claimed.sort((a, b) => Number(BigInt(b.priority) - BigInt(a.priority)) || Number(BigInt(a.was!) - BigInt(b.was!)));
    claimAt.forEach((at, i) => (results[at] = claimed[i] && toWire(claimed[i])));
  }

  async get(uuid: string): Promise<WireTask | undefined> {
    const [row] = await this.sql<Row[]>`
      SELECT * FROM corndogs_tasks WHERE uuid = ${uuid}
      UNION ALL
      SELECT * FROM corndogs_archived_tasks WHERE uuid = ${uuid}
      LIMIT 1`;
    return row && toWire(row);
  }

  async update(u: TaskUpdate): Promise<WireTask | undefined> {
    const [row] = await this.sql<Row[]>`
      UPDATE corndogs_tasks SET
        current_state = ${u.newState}, auto_target_state = ${u.autoTargetState},
        timeout = ${i64(u.timeout)}, priority = ${i64(u.priority)},
        payload = CASE WHEN length(${u.payload}::bytea) = 0 THEN payload ELSE ${u.payload}::bytea END,
        update_time = ${i64(nowNs())}
      WHERE uuid = ${u.uuid} AND (${u.expectState}::text = '' OR current_state = ${u.expectState}::text)
      RETURNING *`;
    if (row) {
      this.notifier?.taskReady(row.queue);
      return toWire(row);
    }
    await this.refuseStale(u.uuid, u.expectState, "update");
    return undefined;
  }

  /** Nothing matched: FAILED_PRECONDITION if the task lives in another state, else it is unknown (OK, unset). */
  private async refuseStale(uuid: string, expectState: string, action: string): Promise<void> {
    if (expectState === "") return;
    const [live] = await this.sql<{ current_state: string }[]>`
      SELECT current_state FROM corndogs_tasks WHERE uuid = ${uuid}`;
    if (live) {
      throw new CorndogsError(
        status.FAILED_PRECONDITION,
        `cannot ${action} task ${uuid}: current_state is ${JSON.stringify(live.current_state)}, ` +
          `not ${JSON.stringify(expectState)} (its claim may have timed out)`,
      );
    }
  }

  /** Swaps the states of every task whose timeout expired before `atTime`; returns the count and the queues touched. */
  async cleanUpTimedOut(atTime: bigint, queue: string): Promise<{ count: number; queues: string[] }> {
    const rows = await this.sql<{ queue: string; n: string }[]>`
      WITH c AS (
        UPDATE corndogs_tasks SET
          current_state = auto_target_state, auto_target_state = current_state,
          timeout = 0, update_time = ${i64(nowNs())}
        WHERE timeout > 0
          AND ((update_time)::numeric + (timeout)::numeric * 1000000000) < ${i64(atTime)}::numeric
          AND (${queue}::text = '' OR queue = ${queue}::text)
        RETURNING queue
      )
      SELECT queue, count(*) AS n FROM c GROUP BY queue`;
    for (const r of rows) this.notifier?.taskReady(r.queue);
    return { count: rows.reduce((sum, r) => sum + Number(r.n), 0), queues: rows.map((r) => r.queue) };
  }

  /** Live tasks per queue and state (archived ones are not counted). */
  async counts(queue?: string): Promise<Counts[]> {
    return queue === undefined
      ? await this.sql<Counts[]>`
          SELECT queue, current_state AS state, count(*) AS count FROM corndogs_tasks
          GROUP BY queue, current_state ORDER BY queue, current_state`
      : await this.sql<Counts[]>`
          SELECT queue, current_state AS state, count(*) AS count FROM corndogs_tasks
          WHERE queue = ${queue} GROUP BY queue, current_state ORDER BY current_state`;
  }
}

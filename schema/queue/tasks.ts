import { sql } from "drizzle-orm";
import { bigint, customType, index, pgTable, text, uuid } from "drizzle-orm/pg-core";

/** Opaque task payload: Corndogs never reads it. */
const bytea = customType<{ data: Buffer; driverData: Buffer }>({ dataType: () => "bytea" });

/**
 * Corndogs task columns (wire names). Times are Unix nanoseconds and exceed 2^53, so every
 * int64 is read as bigint, never as a JS number.
 */
const taskColumns = () => ({
  uuid: uuid("uuid").primaryKey(),
  queue: text("queue").notNull(),
  currentState: text("current_state").notNull(),
  autoTargetState: text("auto_target_state").notNull(),
  submitTime: bigint("submit_time", { mode: "bigint" }).notNull(),
  updateTime: bigint("update_time", { mode: "bigint" }).notNull(),
  /** Seconds; 0 means none. */
  timeout: bigint("timeout", { mode: "bigint" }).notNull().default(sql`0`),
  payload: bytea("payload").notNull().default(sql`'\\x'::bytea`),
  priority: bigint("priority", { mode: "bigint" }).notNull().default(sql`0`),
});

/** Live tasks: the ones a claim, an update or a timeout sweep can touch. */
export const corndogsTasks = pgTable("corndogs_tasks", taskColumns(), (t) => [
  // Claim order: one queue and state, highest priority first, then least recently updated.
  index("corndogs_tasks_claim_idx").on(t.queue, t.currentState, t.priority.desc(), t.updateTime.asc()),
  // Timeout sweep: numeric so a huge timeout x 10^9 cannot overflow bigint on insert.
  index("corndogs_tasks_deadline_idx")
    .on(sql`((${t.updateTime})::numeric + (${t.timeout})::numeric * 1000000000)`)
    .where(sql`${t.timeout} > 0`),
]);

/** Completed and canceled tasks, still answered by GetTaskStateByID. */
export const corndogsArchivedTasks = pgTable("corndogs_archived_tasks", taskColumns());

// The app's drizzle-kit migrations, imported as text so a compiled binary carries them.
// Add a line for every file drizzle-kit writes; migrate.test.ts fails when one is missing.
import journal from "../../schema/migrations/app/meta/_journal.json";
import m0000 from "../../schema/migrations/app/0000_app_tables.sql" with { type: "text" };
import m0001 from "../../schema/migrations/app/0001_job_status_transitions.sql" with { type: "text" };
import m0002 from "../../schema/migrations/app/0002_data_checks.sql" with { type: "text" };
import m0003 from "../../schema/migrations/app/0003_notifications.sql" with { type: "text" };
import m0004 from "../../schema/migrations/app/0004_workflow_runs.sql" with { type: "text" };
import m0005 from "../../schema/migrations/app/0005_vcs_events.sql" with { type: "text" };
import m0006 from "../../schema/migrations/app/0006_log_chunks.sql" with { type: "text" };
import m0007 from "../../schema/migrations/app/0007_job_contract_fields.sql" with { type: "text" };
import m0008 from "../../schema/migrations/app/0008_dashboard_sessions.sql" with { type: "text" };
import m0009 from "../../schema/migrations/app/0009_job_events_outbox.sql" with { type: "text" };
import m0010 from "../../schema/migrations/app/0010_webhook_deliveries_no_jobs_lock.sql" with { type: "text" };
import m0011 from "../../schema/migrations/app/0011_job_secret_env.sql" with { type: "text" };
import m0012 from "../../schema/migrations/app/0012_log_shipped_offset.sql" with { type: "text" };
import m0013 from "../../schema/migrations/app/0013_log_chunks_uncompressed.sql" with { type: "text" };
import m0014 from "../../schema/migrations/app/0014_fork_pr_policy.sql" with { type: "text" };
import m0015 from "../../schema/migrations/app/0015_job_step_results.sql" with { type: "text" };
import m0016 from "../../schema/migrations/app/0016_job_event_subscriber_kinds.sql" with { type: "text" };

export interface JournalEntry {
  tag: string;
  when: number;
  breakpoints: boolean;
}

export const appJournal: readonly JournalEntry[] = journal.entries;

export const appMigrationSql: Readonly<Record<string, string>> = {
  "0000_app_tables": m0000,
  "0001_job_status_transitions": m0001,
  "0002_data_checks": m0002,
  "0003_notifications": m0003,
  "0004_workflow_runs": m0004,
  "0005_vcs_events": m0005,
  "0006_log_chunks": m0006,
  "0007_job_contract_fields": m0007,
  "0008_dashboard_sessions": m0008,
  "0009_job_events_outbox": m0009,
  "0010_webhook_deliveries_no_jobs_lock": m0010,
  "0011_job_secret_env": m0011,
  "0012_log_shipped_offset": m0012,
  "0013_log_chunks_uncompressed": m0013,
  "0014_fork_pr_policy": m0014,
  "0015_job_step_results": m0015,
  "0016_job_event_subscriber_kinds": m0016,
};

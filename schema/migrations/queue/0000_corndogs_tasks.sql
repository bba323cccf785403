CREATE TABLE "corndogs_archived_tasks" (
	"uuid" uuid PRIMARY KEY NOT NULL,
	"queue" text NOT NULL,
	"current_state" text NOT NULL,
	"auto_target_state" text NOT NULL,
	"submit_time" bigint NOT NULL,
	"update_time" bigint NOT NULL,
	"timeout" bigint DEFAULT 0 NOT NULL,
	"payload" "bytea" DEFAULT '\x'::bytea NOT NULL,
	"priority" bigint DEFAULT 0 NOT NULL
);
--> statement-breakpoint
CREATE TABLE "corndogs_tasks" (
	"uuid" uuid PRIMARY KEY NOT NULL,
	"queue" text NOT NULL,
	"current_state" text NOT NULL,
	"auto_target_state" text NOT NULL,
	"submit_time" bigint NOT NULL,
	"update_time" bigint NOT NULL,
	"timeout" bigint DEFAULT 0 NOT NULL,
	"payload" "bytea" DEFAULT '\x'::bytea NOT NULL,
	"priority" bigint DEFAULT 0 NOT NULL
);
--> statement-breakpoint
CREATE INDEX "corndogs_tasks_claim_idx" ON "corndogs_tasks" USING btree ("queue","current_state","priority" DESC NULLS LAST,"update_time");--> statement-breakpoint
CREATE INDEX "corndogs_tasks_deadline_idx" ON "corndogs_tasks" USING btree ((("update_time")::numeric + ("timeout")::numeric * 1000000000)) WHERE "corndogs_tasks"."timeout" > 0;
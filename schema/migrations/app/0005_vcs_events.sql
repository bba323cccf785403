CREATE TABLE "vcs_reports" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"project_id" uuid NOT NULL,
	"kind" text NOT NULL,
	"target" text NOT NULL,
	"payload" jsonb NOT NULL,
	"version" integer DEFAULT 1 NOT NULL,
	"sent_version" integer DEFAULT 0 NOT NULL,
	"remote_id" text,
	"attempts" integer DEFAULT 0 NOT NULL,
	"next_attempt_at" timestamp with time zone DEFAULT now() NOT NULL,
	"lease_until" timestamp with time zone,
	"last_error" text,
	"failed_at" timestamp with time zone,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	"sent_at" timestamp with time zone,
	CONSTRAINT "vcs_reports_target" UNIQUE("project_id","kind","target"),
	CONSTRAINT "vcs_reports_kind_check" CHECK (kind in ('status', 'comment'))
);
--> statement-breakpoint
ALTER TABLE "projects" ADD COLUMN "vcs_provider" text DEFAULT 'github' NOT NULL;--> statement-breakpoint
ALTER TABLE "projects" ADD COLUMN "vcs_api_url" text;--> statement-breakpoint
ALTER TABLE "webhook_deliveries" ADD COLUMN "action" text;--> statement-breakpoint
ALTER TABLE "webhook_deliveries" ADD COLUMN "payload" jsonb;--> statement-breakpoint
ALTER TABLE "webhook_deliveries" ADD COLUMN "status" text DEFAULT 'received' NOT NULL;--> statement-breakpoint
ALTER TABLE "webhook_deliveries" ADD COLUMN "reason" text;--> statement-breakpoint
ALTER TABLE "webhook_deliveries" ADD COLUMN "mapped" jsonb;--> statement-breakpoint
ALTER TABLE "webhook_deliveries" ADD COLUMN "eval_job_id" uuid;--> statement-breakpoint
ALTER TABLE "webhook_deliveries" ADD COLUMN "attempts" integer DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE "webhook_deliveries" ADD COLUMN "processed_at" timestamp with time zone;--> statement-breakpoint
ALTER TABLE "vcs_reports" ADD CONSTRAINT "vcs_reports_project_id_projects_id_fk" FOREIGN KEY ("project_id") REFERENCES "public"."projects"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "vcs_reports_due_idx" ON "vcs_reports" USING btree ("next_attempt_at") WHERE version > sent_version and failed_at is null;--> statement-breakpoint
ALTER TABLE "webhook_deliveries" ADD CONSTRAINT "webhook_deliveries_eval_job_id_jobs_id_fk" FOREIGN KEY ("eval_job_id") REFERENCES "public"."jobs"("id") ON DELETE set null ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "webhook_deliveries_project_idx" ON "webhook_deliveries" USING btree ("project_id","received_at");--> statement-breakpoint
CREATE INDEX "webhook_deliveries_received_idx" ON "webhook_deliveries" USING btree ("received_at") WHERE status = 'received';--> statement-breakpoint
ALTER TABLE "projects" ADD CONSTRAINT "projects_vcs_provider_check" CHECK (vcs_provider in ('github', 'gitlab'));--> statement-breakpoint
ALTER TABLE "webhook_deliveries" ADD CONSTRAINT "webhook_deliveries_status_check" CHECK (status in ('received', 'processed'));
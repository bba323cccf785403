ALTER TABLE "job_log_chunks" ALTER COLUMN "body" DROP NOT NULL;--> statement-breakpoint
ALTER TABLE "job_log_chunks" ADD COLUMN "packed" "bytea";--> statement-breakpoint
ALTER TABLE "jobs" ADD COLUMN "log_shipped" integer DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE "job_log_chunks" ADD CONSTRAINT "job_log_chunks_body_check" CHECK (("job_log_chunks"."body" IS NULL) <> ("job_log_chunks"."packed" IS NULL));
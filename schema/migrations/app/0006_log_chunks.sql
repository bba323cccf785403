CREATE TABLE "job_log_chunks" (
	"job_id" uuid NOT NULL,
	"first_seq" integer NOT NULL,
	"last_seq" integer NOT NULL,
	"body" text NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "job_log_chunks_job_id_first_seq_pk" PRIMARY KEY("job_id","first_seq"),
	CONSTRAINT "job_log_chunks_range_check" CHECK ("job_log_chunks"."last_seq" >= "job_log_chunks"."first_seq" AND "job_log_chunks"."first_seq" >= 1)
);
--> statement-breakpoint
-- Lines of running jobs kept across the upgrade: one chunk per line, in the stored form (stream character, text, LF).
INSERT INTO "job_log_chunks" ("job_id", "first_seq", "last_seq", "body", "created_at")
SELECT "job_id", "seq", "seq", (CASE "stream" WHEN 'stderr' THEN 'e' WHEN 'system' THEN 's' ELSE 'o' END) || replace("line", E'\n', U&'\2424') || E'\n', "created_at" FROM "job_logs";--> statement-breakpoint
DROP TABLE "job_logs" CASCADE;--> statement-breakpoint
ALTER TABLE "job_log_chunks" ADD CONSTRAINT "job_log_chunks_job_id_jobs_id_fk" FOREIGN KEY ("job_id") REFERENCES "public"."jobs"("id") ON DELETE cascade ON UPDATE no action;
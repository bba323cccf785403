ALTER TABLE "webhook_deliveries" DROP CONSTRAINT "webhook_deliveries_eval_job_id_jobs_id_fk";
--> statement-breakpoint
CREATE INDEX "webhook_deliveries_eval_job_idx" ON "webhook_deliveries" USING btree ("eval_job_id");
-- Refuses any job status change outside queued -> running -> success | failure | error |
-- cancelled | timed_out (queued may also end as cancelled or error without running).
-- Mirrors JOB_TRANSITIONS in schema/app/jobs.ts.
CREATE OR REPLACE FUNCTION reactorcide_job_status_guard() RETURNS trigger AS $$
BEGIN
  IF NEW.status IS DISTINCT FROM OLD.status THEN
    IF NOT (
      (OLD.status = 'queued' AND NEW.status IN ('running', 'cancelled', 'error')) OR
      (OLD.status = 'running' AND NEW.status IN ('success', 'failure', 'error', 'cancelled', 'timed_out'))
    ) THEN
      RAISE EXCEPTION 'job % cannot move from % to %', OLD.id, OLD.status, NEW.status
        USING ERRCODE = 'check_violation', CONSTRAINT = 'jobs_status_transition';
    END IF;
  END IF;
  RETURN NEW;
END;
$$ LANGUAGE plpgsql;
--> statement-breakpoint
CREATE TRIGGER jobs_status_transition BEFORE UPDATE OF status ON jobs
  FOR EACH ROW EXECUTE FUNCTION reactorcide_job_status_guard();
--> statement-breakpoint
CREATE INDEX jobs_queued_idx ON jobs (priority DESC, created_at) WHERE status = 'queued';

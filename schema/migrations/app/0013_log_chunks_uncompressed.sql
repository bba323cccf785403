-- Chunks arrive compressed (zstd, by the coordinator): Postgres stores them as they are instead of
-- trying pglz on them again, which held log shipping to 15-30 MB/s.
ALTER TABLE "job_log_chunks" ALTER COLUMN "packed" SET STORAGE EXTERNAL;

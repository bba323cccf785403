ALTER TABLE "jobs" ALTER COLUMN "image" DROP NOT NULL;--> statement-breakpoint
ALTER TABLE "jobs" ADD COLUMN "network" text DEFAULT 'default' NOT NULL;--> statement-breakpoint
ALTER TABLE "jobs" ADD COLUMN "retries" integer DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE "jobs" ADD COLUMN "untrusted" boolean DEFAULT false NOT NULL;--> statement-breakpoint
ALTER TABLE "jobs" ADD CONSTRAINT "jobs_network_check" CHECK (network in ('default', 'none'));--> statement-breakpoint
ALTER TABLE "jobs" ADD CONSTRAINT "jobs_retries_check" CHECK (retries between 0 and 5);
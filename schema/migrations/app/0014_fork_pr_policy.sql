CREATE TABLE "fork_pr_decisions" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"project_id" uuid NOT NULL,
	"pr_number" integer NOT NULL,
	"head_sha" text NOT NULL,
	"base_sha" text NOT NULL,
	"decision" text NOT NULL,
	"decided_by" text NOT NULL,
	"via" text NOT NULL,
	"user_id" uuid,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "fork_pr_decisions_key" UNIQUE("project_id","pr_number","head_sha","base_sha"),
	CONSTRAINT "fork_pr_decisions_decision_check" CHECK (decision in ('approved', 'declined')),
	CONSTRAINT "fork_pr_decisions_via_check" CHECK (via in ('api', 'comment'))
);
--> statement-breakpoint
ALTER TABLE "projects" ADD COLUMN "fork_pr_trust_maintainers" boolean DEFAULT true NOT NULL;--> statement-breakpoint
ALTER TABLE "projects" ADD COLUMN "fork_pr_secrets" jsonb DEFAULT '[]'::jsonb NOT NULL;--> statement-breakpoint
ALTER TABLE "projects" ADD COLUMN "fork_pr_network" text DEFAULT 'default' NOT NULL;--> statement-breakpoint
ALTER TABLE "fork_pr_decisions" ADD CONSTRAINT "fork_pr_decisions_project_id_projects_id_fk" FOREIGN KEY ("project_id") REFERENCES "public"."projects"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "fork_pr_decisions" ADD CONSTRAINT "fork_pr_decisions_user_id_users_id_fk" FOREIGN KEY ("user_id") REFERENCES "public"."users"("id") ON DELETE set null ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "projects" ADD CONSTRAINT "projects_fork_pr_network_check" CHECK (fork_pr_network in ('default', 'none'));
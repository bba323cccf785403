CREATE TABLE "notification_deliveries" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"rule_id" uuid NOT NULL,
	"project_id" uuid NOT NULL,
	"subject" text NOT NULL,
	"subject_id" uuid NOT NULL,
	"status" text NOT NULL,
	"fixed" boolean DEFAULT false NOT NULL,
	"state" text DEFAULT 'pending' NOT NULL,
	"attempts" integer DEFAULT 0 NOT NULL,
	"next_attempt_at" timestamp with time zone DEFAULT now() NOT NULL,
	"last_error" text,
	"payload" jsonb,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"delivered_at" timestamp with time zone,
	CONSTRAINT "notification_deliveries_rule_subject" UNIQUE("rule_id","subject","subject_id"),
	CONSTRAINT "notification_deliveries_state_check" CHECK (state in ('pending', 'delivered', 'failed')),
	CONSTRAINT "notification_deliveries_subject_check" CHECK (subject in ('workflow_run', 'job', 'test'))
);
--> statement-breakpoint
CREATE TABLE "notification_rules" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"project_id" uuid NOT NULL,
	"on" text DEFAULT 'failure' NOT NULL,
	"jobs" boolean DEFAULT false NOT NULL,
	"branches" jsonb DEFAULT '[]'::jsonb NOT NULL,
	"events" jsonb DEFAULT '[]'::jsonb NOT NULL,
	"target" jsonb NOT NULL,
	"sealed_nonce" "bytea",
	"sealed_value" "bytea",
	"sealed_key_id" text,
	"created_by" uuid,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "notification_rules_on_check" CHECK ("on" in ('failure', 'always', 'fixed', 'success')),
	CONSTRAINT "notification_rules_target_check" CHECK (target->>'type' in ('email', 'webhook'))
);
--> statement-breakpoint
CREATE TABLE "notification_streaks" (
	"project_id" uuid NOT NULL,
	"subject" text NOT NULL,
	"name" text NOT NULL,
	"branch" text DEFAULT '' NOT NULL,
	"last_status" text NOT NULL,
	"last_finished_at" timestamp with time zone NOT NULL,
	CONSTRAINT "notification_streaks_project_id_subject_name_branch_pk" PRIMARY KEY("project_id","subject","name","branch")
);
--> statement-breakpoint
ALTER TABLE "notification_deliveries" ADD CONSTRAINT "notification_deliveries_rule_id_notification_rules_id_fk" FOREIGN KEY ("rule_id") REFERENCES "public"."notification_rules"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "notification_deliveries" ADD CONSTRAINT "notification_deliveries_project_id_projects_id_fk" FOREIGN KEY ("project_id") REFERENCES "public"."projects"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "notification_rules" ADD CONSTRAINT "notification_rules_project_id_projects_id_fk" FOREIGN KEY ("project_id") REFERENCES "public"."projects"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "notification_rules" ADD CONSTRAINT "notification_rules_created_by_users_id_fk" FOREIGN KEY ("created_by") REFERENCES "public"."users"("id") ON DELETE set null ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "notification_streaks" ADD CONSTRAINT "notification_streaks_project_id_projects_id_fk" FOREIGN KEY ("project_id") REFERENCES "public"."projects"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "notification_deliveries_due_idx" ON "notification_deliveries" USING btree ("state","next_attempt_at");--> statement-breakpoint
CREATE INDEX "notification_deliveries_rule_idx" ON "notification_deliveries" USING btree ("rule_id","created_at");--> statement-breakpoint
CREATE INDEX "notification_rules_project_idx" ON "notification_rules" USING btree ("project_id");
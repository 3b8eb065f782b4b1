CREATE TABLE "chapters" (
	"project_id" integer NOT NULL,
	"number" integer NOT NULL,
	"title" text NOT NULL,
	"summary" text
);
--> statement-breakpoint
CREATE TABLE "discord_threads" (
	"project_id" integer PRIMARY KEY NOT NULL,
	"guild_id" text NOT NULL,
	"channel_id" text NOT NULL,
	"thread_id" text NOT NULL,
	"progress_message_id" text,
	"progress_stage" text,
	"notice_message_id" text,
	"notice_version" integer,
	"delivery_nonce" text,
	"delivery_message_id" text
);
--> statement-breakpoint
CREATE TABLE "llm_calls" (
	"id" serial PRIMARY KEY NOT NULL,
	"project_id" integer,
	"stage" text NOT NULL,
	"scene_number" integer,
	"purpose" text NOT NULL,
	"model" text NOT NULL,
	"prompt_tokens" integer DEFAULT 0 NOT NULL,
	"cached_tokens" integer DEFAULT 0 NOT NULL,
	"completion_tokens" integer DEFAULT 0 NOT NULL,
	"latency_ms" integer NOT NULL,
	"outcome" text NOT NULL,
	"error" text,
	"cleaned" text,
	"cost_usd" double precision DEFAULT 0 NOT NULL,
	"created_at" bigint DEFAULT (extract(epoch from clock_timestamp()) * 1000)::bigint NOT NULL
);
--> statement-breakpoint
CREATE TABLE "projects" (
	"id" serial PRIMARY KEY NOT NULL,
	"owner_id" text NOT NULL,
	"host" text DEFAULT 'cli' NOT NULL,
	"premise" text NOT NULL,
	"title" text,
	"genre" text,
	"voice" text,
	"scene_count" integer NOT NULL,
	"target_words" integer NOT NULL,
	"auto_approve" boolean DEFAULT false NOT NULL,
	"status" text DEFAULT 'running' NOT NULL,
	"stage" text DEFAULT 'concept' NOT NULL,
	"attention" text,
	"revision_notes" text,
	"redraft_scene" integer,
	"export_path" text,
	"status_version" integer DEFAULT 0 NOT NULL,
	"lease_owner" text,
	"lease_expires_at" bigint,
	"queue_ahead" integer,
	"created_at" bigint DEFAULT (extract(epoch from clock_timestamp()) * 1000)::bigint NOT NULL,
	"updated_at" bigint DEFAULT (extract(epoch from clock_timestamp()) * 1000)::bigint NOT NULL
);
--> statement-breakpoint
CREATE TABLE "revision_results" (
	"project_id" integer NOT NULL,
	"step" text NOT NULL,
	"scene_number" integer NOT NULL,
	"outcome" text NOT NULL,
	"reason" text,
	"detail" jsonb,
	"created_at" bigint DEFAULT (extract(epoch from clock_timestamp()) * 1000)::bigint NOT NULL
);
--> statement-breakpoint
CREATE TABLE "scene_versions" (
	"id" serial PRIMARY KEY NOT NULL,
	"project_id" integer NOT NULL,
	"scene_number" integer NOT NULL,
	"stage" text NOT NULL,
	"text" text NOT NULL,
	"words" integer NOT NULL,
	"note" text,
	"created_at" bigint DEFAULT (extract(epoch from clock_timestamp()) * 1000)::bigint NOT NULL
);
--> statement-breakpoint
CREATE TABLE "scenes" (
	"project_id" integer NOT NULL,
	"number" integer NOT NULL,
	"chapter" integer NOT NULL,
	"title" text NOT NULL,
	"card" jsonb NOT NULL,
	"target_words" integer NOT NULL,
	"text" text,
	"words" integer DEFAULT 0 NOT NULL,
	"summary" text,
	"facts" jsonb,
	"digest_of" text,
	"beats" jsonb,
	"updated_at" bigint DEFAULT (extract(epoch from clock_timestamp()) * 1000)::bigint NOT NULL
);
--> statement-breakpoint
CREATE TABLE "stage_outputs" (
	"id" serial PRIMARY KEY NOT NULL,
	"project_id" integer NOT NULL,
	"stage" text NOT NULL,
	"data" jsonb NOT NULL,
	"created_at" bigint DEFAULT (extract(epoch from clock_timestamp()) * 1000)::bigint NOT NULL
);
--> statement-breakpoint
CREATE TABLE "story_state" (
	"id" serial PRIMARY KEY NOT NULL,
	"project_id" integer NOT NULL,
	"scene_number" integer NOT NULL,
	"kind" text NOT NULL,
	"entity" text NOT NULL,
	"data" jsonb
);
--> statement-breakpoint
ALTER TABLE "chapters" ADD CONSTRAINT "chapters_project_id_projects_id_fk" FOREIGN KEY ("project_id") REFERENCES "public"."projects"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "discord_threads" ADD CONSTRAINT "discord_threads_project_id_projects_id_fk" FOREIGN KEY ("project_id") REFERENCES "public"."projects"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "llm_calls" ADD CONSTRAINT "llm_calls_project_id_projects_id_fk" FOREIGN KEY ("project_id") REFERENCES "public"."projects"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "revision_results" ADD CONSTRAINT "revision_results_project_id_projects_id_fk" FOREIGN KEY ("project_id") REFERENCES "public"."projects"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "scene_versions" ADD CONSTRAINT "scene_versions_project_id_projects_id_fk" FOREIGN KEY ("project_id") REFERENCES "public"."projects"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "scenes" ADD CONSTRAINT "scenes_project_id_projects_id_fk" FOREIGN KEY ("project_id") REFERENCES "public"."projects"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "stage_outputs" ADD CONSTRAINT "stage_outputs_project_id_projects_id_fk" FOREIGN KEY ("project_id") REFERENCES "public"."projects"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "story_state" ADD CONSTRAINT "story_state_project_id_projects_id_fk" FOREIGN KEY ("project_id") REFERENCES "public"."projects"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE UNIQUE INDEX "chapters_pk" ON "chapters" USING btree ("project_id","number");--> statement-breakpoint
CREATE UNIQUE INDEX "discord_threads_thread" ON "discord_threads" USING btree ("thread_id");--> statement-breakpoint
CREATE INDEX "discord_threads_guild" ON "discord_threads" USING btree ("guild_id");--> statement-breakpoint
CREATE INDEX "llm_calls_project" ON "llm_calls" USING btree ("project_id","stage");--> statement-breakpoint
CREATE INDEX "projects_runnable" ON "projects" USING btree ("status","lease_expires_at");--> statement-breakpoint
CREATE INDEX "projects_owner" ON "projects" USING btree ("owner_id");--> statement-breakpoint
CREATE INDEX "projects_host" ON "projects" USING btree ("host");--> statement-breakpoint
CREATE UNIQUE INDEX "revision_results_pk" ON "revision_results" USING btree ("project_id","step","scene_number");--> statement-breakpoint
CREATE INDEX "scene_versions_lookup" ON "scene_versions" USING btree ("project_id","scene_number","id");--> statement-breakpoint
CREATE UNIQUE INDEX "scenes_pk" ON "scenes" USING btree ("project_id","number");--> statement-breakpoint
CREATE INDEX "stage_outputs_lookup" ON "stage_outputs" USING btree ("project_id","stage","id");--> statement-breakpoint
CREATE INDEX "story_state_lookup" ON "story_state" USING btree ("project_id","scene_number");
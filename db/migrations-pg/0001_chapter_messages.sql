CREATE TABLE "discord_chapters" (
	"project_id" integer NOT NULL,
	"chapter" integer NOT NULL,
	"message_id" text NOT NULL
);
--> statement-breakpoint
ALTER TABLE "projects" ADD COLUMN "show_chapters" boolean DEFAULT true NOT NULL;--> statement-breakpoint
ALTER TABLE "discord_chapters" ADD CONSTRAINT "discord_chapters_project_id_projects_id_fk" FOREIGN KEY ("project_id") REFERENCES "public"."projects"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE UNIQUE INDEX "discord_chapters_pk" ON "discord_chapters" USING btree ("project_id","chapter");
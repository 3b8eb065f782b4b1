CREATE TABLE "chapter_notes" (
	"project_id" integer NOT NULL,
	"chapter" integer NOT NULL,
	"text" text NOT NULL,
	"author_id" text NOT NULL,
	"updated_at" bigint NOT NULL
);
--> statement-breakpoint
ALTER TABLE "discord_threads" ADD COLUMN "status_message_id" text;--> statement-breakpoint
ALTER TABLE "chapter_notes" ADD CONSTRAINT "chapter_notes_project_id_projects_id_fk" FOREIGN KEY ("project_id") REFERENCES "public"."projects"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE UNIQUE INDEX "chapter_notes_pk" ON "chapter_notes" USING btree ("project_id","chapter");
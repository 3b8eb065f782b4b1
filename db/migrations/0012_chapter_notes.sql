CREATE TABLE `chapter_notes` (
	`project_id` integer NOT NULL,
	`chapter` integer NOT NULL,
	`text` text NOT NULL,
	`author_id` text NOT NULL,
	`updated_at` integer NOT NULL,
	FOREIGN KEY (`project_id`) REFERENCES `projects`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE UNIQUE INDEX `chapter_notes_pk` ON `chapter_notes` (`project_id`,`chapter`);--> statement-breakpoint
ALTER TABLE `discord_threads` ADD `status_message_id` text;
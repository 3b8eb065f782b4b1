CREATE TABLE `discord_chapters` (
	`project_id` integer NOT NULL,
	`chapter` integer NOT NULL,
	`message_id` text NOT NULL,
	FOREIGN KEY (`project_id`) REFERENCES `projects`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE UNIQUE INDEX `discord_chapters_pk` ON `discord_chapters` (`project_id`,`chapter`);--> statement-breakpoint
ALTER TABLE `projects` ADD `show_chapters` integer DEFAULT true NOT NULL;
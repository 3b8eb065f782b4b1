CREATE TABLE `discord_threads` (
	`project_id` integer PRIMARY KEY NOT NULL,
	`guild_id` text NOT NULL,
	`channel_id` text NOT NULL,
	`thread_id` text NOT NULL,
	`progress_message_id` text,
	`progress_stage` text,
	`notice_message_id` text,
	`notice_version` integer,
	FOREIGN KEY (`project_id`) REFERENCES `projects`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE UNIQUE INDEX `discord_threads_thread` ON `discord_threads` (`thread_id`);--> statement-breakpoint
CREATE INDEX `discord_threads_guild` ON `discord_threads` (`guild_id`);--> statement-breakpoint
ALTER TABLE `projects` ADD `host` text DEFAULT 'cli' NOT NULL;--> statement-breakpoint
ALTER TABLE `projects` ADD `status_version` integer DEFAULT 0 NOT NULL;--> statement-breakpoint
CREATE INDEX `projects_host` ON `projects` (`host`);--> statement-breakpoint
INSERT INTO `discord_threads` (`project_id`, `guild_id`, `channel_id`, `thread_id`, `progress_message_id`, `progress_stage`, `notice_message_id`, `notice_version`)
	SELECT `id`, coalesce(`guild_id`, ''), coalesce(`channel_id`, ''), `thread_id`, `progress_message_id`, `progress_stage`, `notice_message_id`,
		CASE WHEN `notice_message_id` IS NOT NULL THEN 0 END
	FROM `projects` WHERE `thread_id` IS NOT NULL;--> statement-breakpoint
UPDATE `projects` SET `host` = 'discord' WHERE `thread_id` IS NOT NULL;--> statement-breakpoint
ALTER TABLE `projects` DROP COLUMN `guild_id`;--> statement-breakpoint
ALTER TABLE `projects` DROP COLUMN `channel_id`;--> statement-breakpoint
ALTER TABLE `projects` DROP COLUMN `thread_id`;--> statement-breakpoint
ALTER TABLE `projects` DROP COLUMN `progress_message_id`;--> statement-breakpoint
ALTER TABLE `projects` DROP COLUMN `progress_stage`;--> statement-breakpoint
ALTER TABLE `projects` DROP COLUMN `notice_message_id`;
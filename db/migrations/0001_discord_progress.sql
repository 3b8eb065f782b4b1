ALTER TABLE `projects` ADD `progress_message_id` text;--> statement-breakpoint
ALTER TABLE `projects` ADD `progress_stage` text;
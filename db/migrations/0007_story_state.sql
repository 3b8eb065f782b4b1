CREATE TABLE `story_state` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`project_id` integer NOT NULL,
	`scene_number` integer NOT NULL,
	`kind` text NOT NULL,
	`entity` text NOT NULL,
	`data` text,
	FOREIGN KEY (`project_id`) REFERENCES `projects`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE INDEX `story_state_lookup` ON `story_state` (`project_id`,`scene_number`);
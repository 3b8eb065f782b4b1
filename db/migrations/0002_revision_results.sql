CREATE TABLE `revision_results` (
	`project_id` integer NOT NULL,
	`step` text NOT NULL,
	`scene_number` integer NOT NULL,
	`outcome` text NOT NULL,
	`reason` text,
	`detail` text,
	`created_at` integer DEFAULT (cast(unixepoch('subsecond') * 1000 as integer)) NOT NULL,
	FOREIGN KEY (`project_id`) REFERENCES `projects`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE UNIQUE INDEX `revision_results_pk` ON `revision_results` (`project_id`,`step`,`scene_number`);
CREATE TABLE `chapters` (
	`project_id` integer NOT NULL,
	`number` integer NOT NULL,
	`title` text NOT NULL,
	`summary` text,
	FOREIGN KEY (`project_id`) REFERENCES `projects`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE UNIQUE INDEX `chapters_pk` ON `chapters` (`project_id`,`number`);--> statement-breakpoint
CREATE TABLE `llm_calls` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`project_id` integer,
	`stage` text NOT NULL,
	`scene_number` integer,
	`purpose` text NOT NULL,
	`model` text NOT NULL,
	`prompt_tokens` integer DEFAULT 0 NOT NULL,
	`cached_tokens` integer DEFAULT 0 NOT NULL,
	`completion_tokens` integer DEFAULT 0 NOT NULL,
	`latency_ms` integer NOT NULL,
	`outcome` text NOT NULL,
	`error` text,
	`cost_usd` real DEFAULT 0 NOT NULL,
	`created_at` integer DEFAULT (cast(unixepoch('subsecond') * 1000 as integer)) NOT NULL,
	FOREIGN KEY (`project_id`) REFERENCES `projects`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE INDEX `llm_calls_project` ON `llm_calls` (`project_id`,`stage`);--> statement-breakpoint
CREATE TABLE `projects` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`owner_id` text NOT NULL,
	`guild_id` text,
	`channel_id` text,
	`thread_id` text,
	`premise` text NOT NULL,
	`title` text,
	`genre` text,
	`voice` text,
	`scene_count` integer NOT NULL,
	`target_words` integer NOT NULL,
	`auto_approve` integer DEFAULT false NOT NULL,
	`status` text DEFAULT 'running' NOT NULL,
	`stage` text DEFAULT 'concept' NOT NULL,
	`attention` text,
	`revision_notes` text,
	`redraft_scene` integer,
	`export_path` text,
	`lease_owner` text,
	`lease_expires_at` integer,
	`created_at` integer DEFAULT (cast(unixepoch('subsecond') * 1000 as integer)) NOT NULL,
	`updated_at` integer DEFAULT (cast(unixepoch('subsecond') * 1000 as integer)) NOT NULL
);
--> statement-breakpoint
CREATE INDEX `projects_runnable` ON `projects` (`status`,`lease_expires_at`);--> statement-breakpoint
CREATE INDEX `projects_owner` ON `projects` (`owner_id`);--> statement-breakpoint
CREATE TABLE `scene_versions` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`project_id` integer NOT NULL,
	`scene_number` integer NOT NULL,
	`stage` text NOT NULL,
	`text` text NOT NULL,
	`words` integer NOT NULL,
	`note` text,
	`created_at` integer DEFAULT (cast(unixepoch('subsecond') * 1000 as integer)) NOT NULL,
	FOREIGN KEY (`project_id`) REFERENCES `projects`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE INDEX `scene_versions_lookup` ON `scene_versions` (`project_id`,`scene_number`,`id`);--> statement-breakpoint
CREATE TABLE `scenes` (
	`project_id` integer NOT NULL,
	`number` integer NOT NULL,
	`chapter` integer NOT NULL,
	`title` text NOT NULL,
	`card` text NOT NULL,
	`target_words` integer NOT NULL,
	`text` text,
	`words` integer DEFAULT 0 NOT NULL,
	`summary` text,
	`facts` text,
	`updated_at` integer DEFAULT (cast(unixepoch('subsecond') * 1000 as integer)) NOT NULL,
	FOREIGN KEY (`project_id`) REFERENCES `projects`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE UNIQUE INDEX `scenes_pk` ON `scenes` (`project_id`,`number`);--> statement-breakpoint
CREATE TABLE `stage_outputs` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`project_id` integer NOT NULL,
	`stage` text NOT NULL,
	`data` text NOT NULL,
	`created_at` integer DEFAULT (cast(unixepoch('subsecond') * 1000 as integer)) NOT NULL,
	FOREIGN KEY (`project_id`) REFERENCES `projects`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE INDEX `stage_outputs_lookup` ON `stage_outputs` (`project_id`,`stage`,`id`);
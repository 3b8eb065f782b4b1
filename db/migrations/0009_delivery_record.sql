ALTER TABLE `discord_threads` ADD `delivery_nonce` text;--> statement-breakpoint
ALTER TABLE `discord_threads` ADD `delivery_message_id` text;
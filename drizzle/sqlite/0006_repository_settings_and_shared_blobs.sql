ALTER TABLE `repositories` ADD `description` text;--> statement-breakpoint
ALTER TABLE `repositories` ADD `upstreams` text DEFAULT '[]' NOT NULL;--> statement-breakpoint
CREATE INDEX `assets_blob_key` ON `assets` (`blob_key`);
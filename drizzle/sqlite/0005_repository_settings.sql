ALTER TABLE `repositories` ADD `description` text;--> statement-breakpoint
ALTER TABLE `repositories` ADD `upstreams` text DEFAULT '[]' NOT NULL;
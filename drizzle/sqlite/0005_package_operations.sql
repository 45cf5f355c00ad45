ALTER TABLE `package_versions` ADD `readme` text;--> statement-breakpoint
ALTER TABLE `package_versions` ADD `dependencies` text;--> statement-breakpoint
ALTER TABLE `packages` ADD `origin_publish` text DEFAULT 'ALLOW' NOT NULL;--> statement-breakpoint
ALTER TABLE `packages` ADD `origin_upstream` text DEFAULT 'BLOCK' NOT NULL;
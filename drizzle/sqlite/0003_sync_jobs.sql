CREATE TABLE `sync_jobs` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`version_id` integer NOT NULL,
	`state` text NOT NULL,
	`attempts` integer NOT NULL,
	`next_attempt_at` text NOT NULL,
	`status_reason` text,
	`progress` integer NOT NULL,
	`created_at` text NOT NULL,
	`updated_at` text NOT NULL,
	`started_at` text,
	`finished_at` text,
	FOREIGN KEY (`version_id`) REFERENCES `package_versions`(`id`) ON UPDATE no action ON DELETE no action
);
--> statement-breakpoint
CREATE UNIQUE INDEX `sync_jobs_version` ON `sync_jobs` (`version_id`);--> statement-breakpoint
CREATE INDEX `sync_jobs_state_next` ON `sync_jobs` (`state`,`next_attempt_at`);--> statement-breakpoint
ALTER TABLE `package_versions` ADD `summary` text;--> statement-breakpoint
ALTER TABLE `package_versions` ADD `home_page` text;--> statement-breakpoint
ALTER TABLE `package_versions` ADD `source_code_repository` text;--> statement-breakpoint
ALTER TABLE `package_versions` ADD `licenses` text;
CREATE TABLE `assets` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`version_id` integer NOT NULL,
	`name` text NOT NULL,
	`size` integer NOT NULL,
	`md5` text NOT NULL,
	`sha1` text NOT NULL,
	`sha256` text NOT NULL,
	`sha512` text NOT NULL,
	`blob_key` text NOT NULL,
	FOREIGN KEY (`version_id`) REFERENCES `package_versions`(`id`) ON UPDATE no action ON DELETE no action
);
--> statement-breakpoint
CREATE UNIQUE INDEX `assets_version_name` ON `assets` (`version_id`,`name`);--> statement-breakpoint
CREATE TABLE `audit_log` (
	`seq` integer PRIMARY KEY NOT NULL,
	`prev_hash` text NOT NULL,
	`hash` text NOT NULL,
	`decision_id` text NOT NULL,
	`time` text NOT NULL,
	`request_id` text NOT NULL,
	`source_ip` text,
	`principal_issuer` text,
	`principal_subject` text,
	`principal_groups` text,
	`action` text NOT NULL,
	`resource` text,
	`decision` text NOT NULL,
	`reason` text,
	`determining_policies` text NOT NULL,
	`errors` text NOT NULL,
	`policy_set_hash` text,
	`request` text NOT NULL,
	`changes` text NOT NULL,
	`outcome` text NOT NULL,
	`http_status` integer NOT NULL,
	`repository_arn` text,
	`domain_arn` text,
	`package_name` text
);
--> statement-breakpoint
CREATE UNIQUE INDEX `audit_log_decision_id` ON `audit_log` (`decision_id`);--> statement-breakpoint
CREATE INDEX `audit_log_time` ON `audit_log` (`time`);--> statement-breakpoint
CREATE INDEX `audit_log_resource_seq` ON `audit_log` (`resource`,`seq`);--> statement-breakpoint
CREATE INDEX `audit_log_repository_seq` ON `audit_log` (`repository_arn`,`seq`);--> statement-breakpoint
CREATE INDEX `audit_log_domain_seq` ON `audit_log` (`domain_arn`,`seq`);--> statement-breakpoint
CREATE INDEX `audit_log_principal_seq` ON `audit_log` (`principal_subject`,`seq`);--> statement-breakpoint
CREATE INDEX `audit_log_action_seq` ON `audit_log` (`action`,`seq`);--> statement-breakpoint
CREATE INDEX `audit_log_decision_seq` ON `audit_log` (`decision`,`seq`);--> statement-breakpoint
CREATE INDEX `audit_log_package_seq` ON `audit_log` (`package_name`,`seq`);--> statement-breakpoint
CREATE TABLE `audit_versions` (
	`seq` integer NOT NULL,
	`version` text NOT NULL,
	FOREIGN KEY (`seq`) REFERENCES `audit_log`(`seq`) ON UPDATE no action ON DELETE no action
);
--> statement-breakpoint
CREATE UNIQUE INDEX `audit_versions_version_seq` ON `audit_versions` (`version`,`seq`);--> statement-breakpoint
CREATE TABLE `blob_deletions` (
	`blob_key` text PRIMARY KEY NOT NULL,
	`queued_at` text NOT NULL
);
--> statement-breakpoint
CREATE TABLE `domains` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`owner` text NOT NULL,
	`name` text NOT NULL,
	`created_at` text NOT NULL
);
--> statement-breakpoint
CREATE UNIQUE INDEX `domains_owner_name` ON `domains` (`owner`,`name`);--> statement-breakpoint
CREATE INDEX `domains_name` ON `domains` (`name`);--> statement-breakpoint
CREATE TABLE `package_versions` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`package_id` integer NOT NULL,
	`version` text NOT NULL,
	`status` text NOT NULL,
	`revision` text NOT NULL,
	`published_at` text NOT NULL,
	`status_updated_at` text NOT NULL,
	FOREIGN KEY (`package_id`) REFERENCES `packages`(`id`) ON UPDATE no action ON DELETE no action
);
--> statement-breakpoint
CREATE UNIQUE INDEX `package_versions_package_version` ON `package_versions` (`package_id`,`version`);--> statement-breakpoint
CREATE TABLE `packages` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`repository_id` integer NOT NULL,
	`format` text NOT NULL,
	`namespace` text NOT NULL,
	`name` text NOT NULL,
	`created_at` text NOT NULL,
	FOREIGN KEY (`repository_id`) REFERENCES `repositories`(`id`) ON UPDATE no action ON DELETE no action
);
--> statement-breakpoint
CREATE UNIQUE INDEX `packages_coordinates` ON `packages` (`repository_id`,`format`,`namespace`,`name`);--> statement-breakpoint
CREATE TABLE `repositories` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`domain_id` integer NOT NULL,
	`name` text NOT NULL,
	`created_at` text NOT NULL,
	FOREIGN KEY (`domain_id`) REFERENCES `domains`(`id`) ON UPDATE no action ON DELETE no action
);
--> statement-breakpoint
CREATE UNIQUE INDEX `repositories_domain_name` ON `repositories` (`domain_id`,`name`);
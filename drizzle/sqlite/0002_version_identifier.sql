-- SQLite cannot add a NOT NULL column without a default: the column gets '' for existing rows, which the
-- backfill below replaces at once (12 lowercase hex characters from randomblob: a subset of base62, URL-safe).
-- Every insert supplies its own identifier; the unique index is created after the backfill.
ALTER TABLE `package_versions` ADD `identifier` text DEFAULT '' NOT NULL;--> statement-breakpoint
UPDATE `package_versions` SET `identifier` = lower(hex(randomblob(6))) WHERE `identifier` = '';--> statement-breakpoint
CREATE UNIQUE INDEX `package_versions_identifier` ON `package_versions` (`identifier`);

-- Index columns of records written before src/audit/derived-fields.ts derived them (verify checks
-- them; none is hashed, so the chain is unchanged). Each statement reads a record the way
-- deriveFields does, and must keep doing so.
--
-- 1. A domain's record that names a repository (CreateRepository's request `repository`) belongs to
--    that repository: its readers see who created it, and a reader allowed every repository of the
--    domain but that one does not. The name is taken only when it is one (checkRepositoryName's
--    rule); json_valid guards json_extract, which would stop the upgrade on a record edited into
--    something that is not JSON (verify names that record instead).
UPDATE `audit_log` SET `repository_arn` =
  replace(substr(`resource`, 10, length(`resource`) - 10), ':domain/', ':repository/') || '/' || json_extract(`request`, '$.repository')
WHERE `resource` >= 'Domain::"arn:aws:codeartifact:' AND `resource` < 'Domain::"arn:aws:codeartifact;'
  AND `resource` LIKE '%"' AND `repository_arn` IS NULL
  AND (CASE WHEN json_valid(`request`) THEN json_type(`request`, '$.repository') END) = 'text'
  AND length(json_extract(`request`, '$.repository')) BETWEEN 2 AND 100
  AND json_extract(`request`, '$.repository') GLOB '[A-Za-z0-9]*'
  AND json_extract(`request`, '$.repository') NOT GLOB '*[^A-Za-z0-9._-]*';
--> statement-breakpoint
-- 2. A refused token's record whose resource is a domain's ARN (the route's hint) belongs to that
--    domain, so `resource=<domain ARN>` and the domain's readers find it. The GLOBs spell the ARN's
--    shape: a region without ':', a 12-digit account, a name without '/'.
UPDATE `audit_log` SET `domain_arn` = `resource`
WHERE `resource` >= 'arn:aws:codeartifact:' AND `resource` < 'arn:aws:codeartifact;' AND `domain_arn` IS NULL
  AND `resource` GLOB 'arn:aws:codeartifact:?*:[0-9][0-9][0-9][0-9][0-9][0-9][0-9][0-9][0-9][0-9][0-9][0-9]:domain/?*'
  AND `resource` NOT GLOB 'arn:aws:codeartifact:*:*:*:domain/*'
  AND substr(`resource`, instr(`resource`, ':domain/') + 8) NOT GLOB '*/*';

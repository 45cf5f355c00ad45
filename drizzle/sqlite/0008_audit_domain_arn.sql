-- Records whose resource is a domain (Domain::"<domain ARN>") get that domain in domain_arn, as
-- src/audit/derived-fields.ts now derives it (verify checks it). Not hashed: the chain is unchanged.
UPDATE `audit_log` SET `domain_arn` = substr(`resource`, 10, length(`resource`) - 10)
WHERE `resource` >= 'Domain::"arn:aws:codeartifact:' AND `resource` < 'Domain::"arn:aws:codeartifact;'
  AND `resource` LIKE '%"' AND `domain_arn` IS NULL;

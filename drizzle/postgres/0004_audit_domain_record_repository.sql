-- Index columns of records written before src/audit/derived-fields.ts derived them (verify checks
-- them; none is hashed, so the chain is unchanged). Each statement reads a record the way
-- deriveFields does, and must keep doing so.
--
-- 1. A domain's record that names a repository (CreateRepository's request `repository`) belongs to
--    that repository: its readers see who created it, and a reader allowed every repository of the
--    domain but that one does not. The name is read from the canonical JSON text rather than cast to
--    json, which would stop the upgrade on a record edited into something that is not JSON (verify
--    names that record instead). The text is exact: canonical JSON escapes every quote inside a
--    string, so `"repository":"` unescaped is a key, and only the request object has that key; the
--    pattern is checkRepositoryName's rule, closing quote included.
UPDATE "audit_log" SET "repository_arn" =
  replace(substr("resource", 10, length("resource") - 10), ':domain/', ':repository/') || '/'
    || substring("request" from '"repository":"([A-Za-z0-9][A-Za-z0-9._-]{1,99})"')
WHERE "resource" >= 'Domain::"arn:aws:codeartifact:' AND "resource" < 'Domain::"arn:aws:codeartifact;'
  AND "resource" LIKE '%"' AND "repository_arn" IS NULL
  AND "request" ~ '"repository":"[A-Za-z0-9][A-Za-z0-9._-]{1,99}"';
--> statement-breakpoint
-- 2. A refused token's record whose resource is a domain's ARN (the route's hint) belongs to that
--    domain, so `resource=<domain ARN>` and the domain's readers find it.
UPDATE "audit_log" SET "domain_arn" = "resource"
WHERE "resource" >= 'arn:aws:codeartifact:' AND "resource" < 'arn:aws:codeartifact;' AND "domain_arn" IS NULL
  AND "resource" ~ '^arn:aws:codeartifact:[^:]+:[0-9]{12}:domain/[^/]+$';

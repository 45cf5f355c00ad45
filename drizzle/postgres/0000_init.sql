CREATE TABLE "assets" (
	"id" serial PRIMARY KEY NOT NULL,
	"version_id" integer NOT NULL,
	"name" text COLLATE "C" NOT NULL,
	"size" bigint NOT NULL,
	"md5" text COLLATE "C" NOT NULL,
	"sha1" text COLLATE "C" NOT NULL,
	"sha256" text COLLATE "C" NOT NULL,
	"sha512" text COLLATE "C" NOT NULL,
	"blob_key" text COLLATE "C" NOT NULL
);
--> statement-breakpoint
CREATE TABLE "audit_head" (
	"id" integer PRIMARY KEY NOT NULL,
	"seq" integer NOT NULL,
	"hash" text COLLATE "C" NOT NULL,
	"time" text COLLATE "C" NOT NULL
);
--> statement-breakpoint
CREATE TABLE "audit_log" (
	"seq" integer PRIMARY KEY NOT NULL,
	"prev_hash" text COLLATE "C" NOT NULL,
	"hash" text COLLATE "C" NOT NULL,
	"decision_id" text COLLATE "C" NOT NULL,
	"time" text COLLATE "C" NOT NULL,
	"request_id" text COLLATE "C" NOT NULL,
	"source_ip" text COLLATE "C",
	"principal_issuer" text COLLATE "C",
	"principal_subject" text COLLATE "C",
	"principal_groups" text COLLATE "C",
	"action" text COLLATE "C" NOT NULL,
	"resource" text COLLATE "C",
	"decision" text COLLATE "C" NOT NULL,
	"reason" text COLLATE "C",
	"determining_policies" text COLLATE "C" NOT NULL,
	"errors" text COLLATE "C" NOT NULL,
	"policy_set_hash" text COLLATE "C",
	"request" text COLLATE "C" NOT NULL,
	"changes" text COLLATE "C" NOT NULL,
	"outcome" text COLLATE "C" NOT NULL,
	"http_status" integer NOT NULL,
	"repository_arn" text COLLATE "C",
	"domain_arn" text COLLATE "C",
	"package_name" text COLLATE "C"
);
--> statement-breakpoint
CREATE TABLE "audit_versions" (
	"seq" integer NOT NULL,
	"version" text COLLATE "C" NOT NULL
);
--> statement-breakpoint
CREATE TABLE "blob_chunks" (
	"blob_key" text COLLATE "C" NOT NULL,
	"n" integer NOT NULL,
	"data" "bytea" NOT NULL,
	CONSTRAINT "blob_chunks_blob_key_n_pk" PRIMARY KEY("blob_key","n")
);
--> statement-breakpoint
CREATE TABLE "blob_deletions" (
	"blob_key" text COLLATE "C" PRIMARY KEY NOT NULL,
	"queued_at" text COLLATE "C" NOT NULL
);
--> statement-breakpoint
CREATE TABLE "blobs" (
	"blob_key" text COLLATE "C" PRIMARY KEY NOT NULL,
	"size" bigint NOT NULL,
	"chunks" integer NOT NULL
);
--> statement-breakpoint
CREATE TABLE "domains" (
	"id" serial PRIMARY KEY NOT NULL,
	"owner" text COLLATE "C" NOT NULL,
	"name" text COLLATE "C" NOT NULL,
	"created_at" text COLLATE "C" NOT NULL
);
--> statement-breakpoint
CREATE TABLE "package_versions" (
	"id" serial PRIMARY KEY NOT NULL,
	"package_id" integer NOT NULL,
	"version" text COLLATE "C" NOT NULL,
	"identifier" text COLLATE "C" NOT NULL,
	"status" text COLLATE "C" NOT NULL,
	"revision" text COLLATE "C" NOT NULL,
	"published_at" text COLLATE "C" NOT NULL,
	"status_updated_at" text COLLATE "C" NOT NULL,
	"summary" text COLLATE "C",
	"home_page" text COLLATE "C",
	"source_code_repository" text COLLATE "C",
	"licenses" text COLLATE "C",
	"readme" text COLLATE "C",
	"dependencies" text COLLATE "C"
);
--> statement-breakpoint
CREATE TABLE "packages" (
	"id" serial PRIMARY KEY NOT NULL,
	"repository_id" integer NOT NULL,
	"format" text COLLATE "C" NOT NULL,
	"namespace" text COLLATE "C" NOT NULL,
	"name" text COLLATE "C" NOT NULL,
	"created_at" text COLLATE "C" NOT NULL,
	"origin_publish" text COLLATE "C" DEFAULT 'ALLOW' NOT NULL,
	"origin_upstream" text COLLATE "C" DEFAULT 'BLOCK' NOT NULL
);
--> statement-breakpoint
CREATE TABLE "repositories" (
	"id" serial PRIMARY KEY NOT NULL,
	"domain_id" integer NOT NULL,
	"name" text COLLATE "C" NOT NULL,
	"created_at" text COLLATE "C" NOT NULL,
	"description" text COLLATE "C",
	"upstreams" text COLLATE "C" DEFAULT '[]' NOT NULL
);
--> statement-breakpoint
CREATE TABLE "secrets" (
	"name" text COLLATE "C" PRIMARY KEY NOT NULL,
	"value" "bytea" NOT NULL,
	"created_at" text COLLATE "C" NOT NULL
);
--> statement-breakpoint
CREATE TABLE "sync_jobs" (
	"id" serial PRIMARY KEY NOT NULL,
	"version_id" integer NOT NULL,
	"state" text COLLATE "C" NOT NULL,
	"attempts" integer NOT NULL,
	"next_attempt_at" text COLLATE "C" NOT NULL,
	"status_reason" text COLLATE "C",
	"progress" integer NOT NULL,
	"created_at" text COLLATE "C" NOT NULL,
	"updated_at" text COLLATE "C" NOT NULL,
	"started_at" text COLLATE "C",
	"finished_at" text COLLATE "C",
	"generation" integer DEFAULT 0 NOT NULL,
	"lease_expires_at" text COLLATE "C"
);
--> statement-breakpoint
ALTER TABLE "assets" ADD CONSTRAINT "assets_version_id_package_versions_id_fk" FOREIGN KEY ("version_id") REFERENCES "public"."package_versions"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "audit_versions" ADD CONSTRAINT "audit_versions_seq_audit_log_seq_fk" FOREIGN KEY ("seq") REFERENCES "public"."audit_log"("seq") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "package_versions" ADD CONSTRAINT "package_versions_package_id_packages_id_fk" FOREIGN KEY ("package_id") REFERENCES "public"."packages"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "packages" ADD CONSTRAINT "packages_repository_id_repositories_id_fk" FOREIGN KEY ("repository_id") REFERENCES "public"."repositories"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "repositories" ADD CONSTRAINT "repositories_domain_id_domains_id_fk" FOREIGN KEY ("domain_id") REFERENCES "public"."domains"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "sync_jobs" ADD CONSTRAINT "sync_jobs_version_id_package_versions_id_fk" FOREIGN KEY ("version_id") REFERENCES "public"."package_versions"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
CREATE UNIQUE INDEX "assets_version_name" ON "assets" USING btree ("version_id","name");--> statement-breakpoint
CREATE INDEX "assets_blob_key" ON "assets" USING btree ("blob_key");--> statement-breakpoint
CREATE UNIQUE INDEX "audit_log_decision_id" ON "audit_log" USING btree ("decision_id");--> statement-breakpoint
CREATE INDEX "audit_log_time" ON "audit_log" USING btree ("time");--> statement-breakpoint
CREATE INDEX "audit_log_resource_seq" ON "audit_log" USING btree ("resource","seq");--> statement-breakpoint
CREATE INDEX "audit_log_repository_seq" ON "audit_log" USING btree ("repository_arn","seq");--> statement-breakpoint
CREATE INDEX "audit_log_domain_seq" ON "audit_log" USING btree ("domain_arn","seq");--> statement-breakpoint
CREATE INDEX "audit_log_principal_seq" ON "audit_log" USING btree ("principal_subject","seq");--> statement-breakpoint
CREATE INDEX "audit_log_action_seq" ON "audit_log" USING btree ("action","seq");--> statement-breakpoint
CREATE INDEX "audit_log_decision_seq" ON "audit_log" USING btree ("decision","seq");--> statement-breakpoint
CREATE INDEX "audit_log_package_seq" ON "audit_log" USING btree ("package_name","seq");--> statement-breakpoint
CREATE UNIQUE INDEX "audit_versions_version_seq" ON "audit_versions" USING btree ("version","seq");--> statement-breakpoint
CREATE UNIQUE INDEX "domains_owner_name" ON "domains" USING btree ("owner","name");--> statement-breakpoint
CREATE INDEX "domains_name" ON "domains" USING btree ("name");--> statement-breakpoint
CREATE UNIQUE INDEX "package_versions_package_version" ON "package_versions" USING btree ("package_id","version");--> statement-breakpoint
CREATE UNIQUE INDEX "package_versions_identifier" ON "package_versions" USING btree ("identifier");--> statement-breakpoint
CREATE INDEX "package_versions_package_published" ON "package_versions" USING btree ("package_id","published_at");--> statement-breakpoint
CREATE UNIQUE INDEX "packages_coordinates" ON "packages" USING btree ("repository_id","format","namespace","name");--> statement-breakpoint
CREATE UNIQUE INDEX "repositories_domain_name" ON "repositories" USING btree ("domain_id","name");--> statement-breakpoint
CREATE UNIQUE INDEX "sync_jobs_version" ON "sync_jobs" USING btree ("version_id");--> statement-breakpoint
CREATE INDEX "sync_jobs_state_next" ON "sync_jobs" USING btree ("state","next_attempt_at");--> statement-breakpoint
CREATE INDEX "sync_jobs_available" ON "sync_jobs" USING btree ("next_attempt_at","id") WHERE state = 'awaiting';
-- The sharer's share-revoke: an import not finished becomes `revoked` (a revocation that arrives
-- first leaves a revoked receipt its offer then finds); a finished import records the notice.
ALTER TABLE "imports" ADD COLUMN "consent_withdrawn_at" timestamp with time zone;--> statement-breakpoint
ALTER TABLE "imports" DROP CONSTRAINT "imports_status_check";--> statement-breakpoint
ALTER TABLE "imports" ADD CONSTRAINT "imports_status_check" CHECK ("imports"."status" in ('received', 'importing', 'imported', 'rejected', 'failed', 'revoked'));
--> statement-breakpoint
ALTER TABLE "imports" ADD COLUMN "revoked_copy_check_at" timestamp with time zone;--> statement-breakpoint
CREATE INDEX "imports_revoked_copy_check_idx" ON "imports" USING btree ("revoked_copy_check_at") WHERE "imports"."revoked_copy_check_at" is not null;

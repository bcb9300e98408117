-- A share whose consent is withdrawn or expires after its token left partner-a is revoked: partner-b
-- is told (share-revoke) until a result acknowledges it. `revoked` joins the share states.
ALTER TABLE "shares" ADD COLUMN "revoked_at" timestamp with time zone;--> statement-breakpoint
ALTER TABLE "shares" ADD COLUMN "revoke_sent_at" timestamp with time zone;--> statement-breakpoint
ALTER TABLE "shares" ADD COLUMN "revoke_sends" integer DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE "shares" ADD COLUMN "revoke_acked_at" timestamp with time zone;--> statement-breakpoint
ALTER TABLE "shares" DROP CONSTRAINT "shares_status_check";--> statement-breakpoint
ALTER TABLE "shares" ADD CONSTRAINT "shares_status_check" CHECK ("shares"."status" in ('accepted', 'minted', 'sent', 'imported', 'rejected', 'expired', 'failed', 'cancelled', 'revoked'));
--> statement-breakpoint
CREATE INDEX "shares_revocation_pending_idx" ON "shares" USING btree ("revoke_sent_at") WHERE "shares"."revoked_at" is not null and "shares"."revoke_acked_at" is null;

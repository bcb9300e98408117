ALTER TABLE "consents" ADD COLUMN "user_pseudonym" text;--> statement-breakpoint
ALTER TABLE "shares" ADD COLUMN "user_pseudonym" text;--> statement-breakpoint
CREATE INDEX "shares_created_idx" ON "shares" USING btree ("created_at","share_id");
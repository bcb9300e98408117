ALTER TABLE "consents" ADD COLUMN "link_code" text;--> statement-breakpoint
ALTER TABLE "shares" DROP COLUMN "recipient_ref";
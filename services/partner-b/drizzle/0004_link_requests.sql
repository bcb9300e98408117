CREATE TABLE "link_requests" (
	"link_id" uuid PRIMARY KEY NOT NULL,
	"user_ref" text NOT NULL,
	"source" text,
	"code_hash" text NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"expires_at" timestamp with time zone NOT NULL,
	"used_at" timestamp with time zone,
	"import_id" uuid
);
--> statement-breakpoint
ALTER TABLE "imports" ALTER COLUMN "vendor_data" DROP NOT NULL;--> statement-breakpoint
ALTER TABLE "imports" ADD COLUMN "link_id" uuid;--> statement-breakpoint
CREATE UNIQUE INDEX "link_requests_code_hash_idx" ON "link_requests" USING btree ("code_hash");--> statement-breakpoint
CREATE UNIQUE INDEX "link_requests_import_idx" ON "link_requests" USING btree ("import_id");--> statement-breakpoint
ALTER TABLE "imports" DROP COLUMN "recipient_ref";--> statement-breakpoint
-- By hand (drizzle cannot declare a deferrable key): a code redeemed for a receipt that lost a race
-- for its share id would point at no import; checked at commit, that statement fails instead.
ALTER TABLE "link_requests" ADD CONSTRAINT "link_requests_import_fk" FOREIGN KEY ("import_id") REFERENCES "imports" ("import_id") ON DELETE SET NULL DEFERRABLE INITIALLY DEFERRED;

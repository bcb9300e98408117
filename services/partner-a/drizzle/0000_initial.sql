CREATE TABLE "audit_events" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"occurred_at" timestamp with time zone DEFAULT now() NOT NULL,
	"action" text NOT NULL,
	"user_pseudonym" text,
	"audience" text,
	"purpose" text,
	"scope" text,
	"share_id" uuid,
	"token_id" text,
	"token_expires_at" timestamp with time zone,
	"outcome" text NOT NULL,
	"request_id" text,
	"details" jsonb DEFAULT '{}'::jsonb NOT NULL
);
--> statement-breakpoint
CREATE TABLE "consents" (
	"consent_id" uuid PRIMARY KEY NOT NULL,
	"user_id" text NOT NULL,
	"audience" text NOT NULL,
	"purpose" text NOT NULL,
	"scope" text NOT NULL,
	"evidence" jsonb DEFAULT '{}'::jsonb NOT NULL,
	"granted_at" timestamp with time zone DEFAULT now() NOT NULL,
	"expires_at" timestamp with time zone NOT NULL,
	"withdrawn_at" timestamp with time zone
);
--> statement-breakpoint
CREATE TABLE "share_dispatches" (
	"share_id" uuid PRIMARY KEY NOT NULL,
	"due_at" timestamp with time zone DEFAULT now() NOT NULL,
	"leased_until" timestamp with time zone,
	"attempts" integer DEFAULT 0 NOT NULL,
	"last_error" text,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "shares" (
	"share_id" uuid PRIMARY KEY NOT NULL,
	"consent_id" uuid NOT NULL,
	"user_id" text NOT NULL,
	"session_id" uuid NOT NULL,
	"audience" text NOT NULL,
	"purpose" text NOT NULL,
	"scope" text NOT NULL,
	"recipient_ref" text,
	"ttl_seconds" integer NOT NULL,
	"status" text NOT NULL,
	"reason" text,
	"token_hash" text,
	"token_id" text,
	"token_expires_at" timestamp with time zone,
	"sent_at" timestamp with time zone,
	"redrives" integer DEFAULT 0 NOT NULL,
	"last_redrive_at" timestamp with time zone,
	"import_status" text,
	"import_session_status" text,
	"import_reason" text,
	"import_at" timestamp with time zone,
	"idempotency_key" text,
	"request_hash" text,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "verification_sessions" (
	"session_id" uuid PRIMARY KEY NOT NULL,
	"user_id" text NOT NULL,
	"kind" text NOT NULL,
	"workflow_id" uuid NOT NULL,
	"status" text NOT NULL,
	"url" text,
	"status_at" timestamp with time zone NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "webhook_events" (
	"event_id" text PRIMARY KEY NOT NULL,
	"session_id" uuid,
	"webhook_type" text NOT NULL,
	"status" text,
	"applied" text NOT NULL,
	"received_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE INDEX "audit_events_occurred_at_idx" ON "audit_events" USING btree ("occurred_at");--> statement-breakpoint
CREATE INDEX "audit_events_share_id_idx" ON "audit_events" USING btree ("share_id");--> statement-breakpoint
CREATE INDEX "audit_events_user_idx" ON "audit_events" USING btree ("user_pseudonym");--> statement-breakpoint
CREATE INDEX "consents_user_idx" ON "consents" USING btree ("user_id");--> statement-breakpoint
CREATE UNIQUE INDEX "shares_idempotency_key_idx" ON "shares" USING btree ("idempotency_key");--> statement-breakpoint
CREATE INDEX "shares_consent_idx" ON "shares" USING btree ("consent_id");--> statement-breakpoint
CREATE INDEX "shares_status_idx" ON "shares" USING btree ("status");--> statement-breakpoint
CREATE INDEX "verification_sessions_user_idx" ON "verification_sessions" USING btree ("user_id","created_at");
CREATE TABLE "audit_events" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"occurred_at" timestamp with time zone DEFAULT now() NOT NULL,
	"action" text NOT NULL,
	"user_pseudonym" text,
	"source_partner" text,
	"purpose" text,
	"scope" text,
	"share_id" text,
	"import_id" uuid,
	"token_id" text,
	"token_expires_at" timestamp with time zone,
	"outcome" text NOT NULL,
	"request_id" text,
	"details" jsonb DEFAULT '{}'::jsonb NOT NULL
);
--> statement-breakpoint
CREATE TABLE "imports" (
	"import_id" uuid PRIMARY KEY NOT NULL,
	"seq" bigserial NOT NULL,
	"source_partner" text NOT NULL,
	"share_id" text NOT NULL,
	"status" text NOT NULL,
	"reason" text,
	"user_pseudonym" text,
	"purpose" text,
	"scope" text,
	"consent_id" text,
	"recipient_ref" text,
	"session_kind" text,
	"vendor_data" text NOT NULL,
	"token_hash" text NOT NULL,
	"token_id" text NOT NULL,
	"token_expires_at" timestamp with time zone NOT NULL,
	"claimed_source_session" text,
	"workflow_id" uuid,
	"trust_review" boolean,
	"policy_version" text,
	"didit_session_id" uuid,
	"didit_status" text,
	"didit_status_at" timestamp with time zone,
	"shared_from_session" text,
	"attempts" integer DEFAULT 0 NOT NULL,
	"last_error" text,
	"lease_owner" text,
	"leased_until" timestamp with time zone,
	"review_decision" text,
	"review_requested_at" timestamp with time zone,
	"received_at" timestamp with time zone DEFAULT now() NOT NULL,
	"decided_at" timestamp with time zone,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "result_outbox" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"import_id" uuid NOT NULL,
	"seq" integer NOT NULL,
	"job_id" text NOT NULL,
	"source_partner" text NOT NULL,
	"kind" text NOT NULL,
	"payload" jsonb NOT NULL,
	"due_at" timestamp with time zone DEFAULT now() NOT NULL,
	"leased_until" timestamp with time zone,
	"attempts" integer DEFAULT 0 NOT NULL,
	"last_error" text,
	"sent_at" timestamp with time zone,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
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
CREATE INDEX "audit_events_import_id_idx" ON "audit_events" USING btree ("import_id");--> statement-breakpoint
CREATE INDEX "audit_events_user_idx" ON "audit_events" USING btree ("user_pseudonym");--> statement-breakpoint
CREATE UNIQUE INDEX "imports_source_share_idx" ON "imports" USING btree ("source_partner","share_id");--> statement-breakpoint
CREATE UNIQUE INDEX "imports_seq_idx" ON "imports" USING btree ("seq");--> statement-breakpoint
CREATE UNIQUE INDEX "imports_didit_session_idx" ON "imports" USING btree ("didit_session_id");--> statement-breakpoint
CREATE INDEX "imports_vendor_data_idx" ON "imports" USING btree ("vendor_data");--> statement-breakpoint
CREATE INDEX "imports_status_idx" ON "imports" USING btree ("status");--> statement-breakpoint
CREATE UNIQUE INDEX "result_outbox_import_seq_idx" ON "result_outbox" USING btree ("import_id","seq");--> statement-breakpoint
CREATE INDEX "result_outbox_due_idx" ON "result_outbox" USING btree ("due_at");
ALTER TABLE "imports" ADD COLUMN "erased_at" timestamp with time zone;--> statement-breakpoint
CREATE INDEX "result_outbox_sent_at_idx" ON "result_outbox" USING btree ("sent_at") WHERE "result_outbox"."sent_at" is not null;--> statement-breakpoint
CREATE INDEX "webhook_events_received_at_idx" ON "webhook_events" USING btree ("received_at");--> statement-breakpoint
-- Erasing an import (DELETE /v1/imports/{id}) removes partner-b's user reference (vendor_data) from
-- the details of that import's audit events. The trail stays append-only otherwise: an update is let
-- through only inside a transaction that set share_broker.audit_erasure, and only when it changes
-- nothing but `details`.
CREATE OR REPLACE FUNCTION audit_events_append_only() RETURNS trigger AS $$
BEGIN
  IF TG_OP = 'DELETE' AND current_setting('share_broker.audit_retention', true) = 'on' THEN
    RETURN OLD;
  END IF;
  IF TG_OP = 'UPDATE' AND current_setting('share_broker.audit_erasure', true) = 'on'
     AND (to_jsonb(NEW) - 'details') = (to_jsonb(OLD) - 'details') THEN
    RETURN NEW;
  END IF;
  RAISE EXCEPTION 'audit_events is append-only (% refused)', TG_OP USING ERRCODE = 'insufficient_privilege';
END;
$$ LANGUAGE plpgsql;

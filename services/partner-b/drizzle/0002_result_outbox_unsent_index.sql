DROP INDEX "result_outbox_due_idx";--> statement-breakpoint
CREATE INDEX "result_outbox_unsent_due_idx" ON "result_outbox" USING btree ("due_at") WHERE "result_outbox"."sent_at" is null;
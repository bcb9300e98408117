-- Who acted: the name of the API principal whose request caused an event (API_KEYS_FILE), null
-- for background work and signed webhooks. Nullable, so earlier events need no rewrite.
ALTER TABLE "audit_events" ADD COLUMN "principal" text;

-- Link requests are deleted some days after they expire (LINK_REQUEST_RETENTION_DAYS): found by expiry.
CREATE INDEX "link_requests_expires_idx" ON "link_requests" USING btree ("expires_at");

import { randomUUID } from "node:crypto";
import { SHAREABLE_STATUSES } from "@share-broker/didit";
import { columnsOf, executePrepared, rowMapper } from "@share-broker/service-kit";
import { param, sql } from "drizzle-orm";
import type { AuditLog } from "../audit/audit-log.js";
import type { Database } from "../db/database.js";
import { shares } from "../db/schema/index.js";
import type { AcceptShareInput } from "./accept-share.js";

type ShareRow = typeof shares.$inferSelect;

export interface PendingAccept {
  input: AcceptShareInput;
  requestHash: string;
}

const shareFromRow = rowMapper(shares);

/**
 * The common case of a batch of share requests in one statement (throughput is bound by
 * statements, not by rows): under a FOR SHARE lock on each usable consent, so a concurrent
 * withdrawal either waits for the share or cancels it, take the user's latest session if it is
 * shareable and insert the share, its outbox row and its audit event. Answers the new share per
 * request, or undefined where anything else applies (a refusal, a consent from before pseudonyms
 * were kept): those take the transaction, which decides and audits them.
 */
export async function acceptInOneStatement(
  db: Database,
  audit: AuditLog,
  pending: PendingAccept[],
): Promise<Array<ShareRow | undefined>> {
  const ids = pending.map(() => randomUUID());
  const column = (pick: (item: PendingAccept) => unknown) => param(pending.map(pick));
  const rows = await executePrepared(
    db,
    "accept_shares",
    sql`
    with input as (
      select * from unnest(${param(ids)}::uuid[], ${column((p) => p.input.request.consent_id)}::uuid[],
                           ${column((p) => p.input.request.ttl_seconds ?? p.input.defaultTtlSeconds)}::int[],
                           ${column((p) => p.input.idempotencyKey ?? null)}::text[],
                           ${column((p) => p.requestHash)}::text[], ${column((p) => p.input.requestId)}::text[],
                           ${column((p) => p.input.principal)}::text[], ${column((p) => p.input.now)}::timestamptz[])
        as i(share_id, consent_id, ttl_seconds, idempotency_key, request_hash, request_id, principal, asked_at)),
    consent as (
      select i.share_id, c.consent_id, c.user_id, c.user_pseudonym, c.audience, c.purpose, c.scope
      from input i join consents c on c.consent_id = i.consent_id
      where c.withdrawn_at is null and c.expires_at > i.asked_at and c.user_pseudonym is not null
      for share of c),
    session as (
      select c.share_id, latest.session_id from consent c
      cross join lateral (
        select v.session_id, v.status from verification_sessions v where v.user_id = c.user_id
        order by v.created_at desc, v.status_at desc limit 1) latest
      where latest.status = any(${param([...SHAREABLE_STATUSES])}::text[])),
    share as (
      insert into shares (share_id, consent_id, user_id, user_pseudonym, session_id, audience, purpose, scope,
                          ttl_seconds, status, idempotency_key, request_hash)
      select i.share_id, c.consent_id, c.user_id, c.user_pseudonym, s.session_id, c.audience, c.purpose, c.scope,
             i.ttl_seconds, 'accepted', i.idempotency_key, i.request_hash
      from input i join consent c using (share_id) join session s using (share_id)
      returning ${columnsOf(shares)}),
    accepted as (select share.*, i.request_id, i.principal from share join input i using (share_id)),
    dispatch as (insert into share_dispatches (share_id) select share_id from share),
    audit as (${audit.insertForShares("accepted", {
      action: "share.accepted",
      outcome: "accepted",
      requestId: sql`request_id`,
      // Each request's own principal: the batch statement runs in one of the requests' contexts.
      principal: sql`principal`,
      details: sql`jsonb_build_object('consent_id', consent_id)`,
    })})
    select * from share`,
  );
  const byId = new Map(rows.map((row) => [String(row.share_id), shareFromRow(row)]));
  return ids.map((id) => byId.get(id));
}

import { OPEN_SHARE_STATES } from "@share-broker/contracts";
import { amongIdsInStates, columnsOf, executePrepared, rowMapper } from "@share-broker/service-kit";
import { param, sql } from "drizzle-orm";
import type { AuditEntry, AuditLog } from "../audit/audit-log.js";
import type { Database, Executor } from "../db/database.js";
import { shares } from "../db/schema/index.js";
import { shareAuditContext } from "./share-audit-context.js";

/**
 * The dispatcher's statements. Each covers a whole batch of shares in one round trip: throughput
 * is bound by statements (a socket write and a parse/plan each, a WAL flush per commit), not by
 * the rows they touch.
 */

export type ShareRow = typeof shares.$inferSelect;

/** An outbox row leased by this pass, read together with its share and the consent's state. */
export interface Claimed {
  shareId: string;
  attempts: number;
  share: ShareRow | undefined;
  consent: { withdrawnAt: Date | null; expiresAt: Date; linkCode: string | null } | undefined;
}

/** A share whose token was minted by this pass, with what its audit events need. */
export interface MintedShare {
  share: ShareRow;
  token: string;
  tokenHash: string;
  tokenId: string;
  tokenExpiresAt: Date;
  sessionKind: "user" | "business";
  /** The consent's link code, for the offer. */
  linkCode: string;
}

const shareFromRow = rowMapper(shares);

/** A timestamptz from a raw row: a string or a Date depending on the driver's type parsers. */
function asDate(value: unknown): Date {
  return value instanceof Date ? value : new Date(value as string);
}

/**
 * Leases due outbox rows and reads their shares and consents: one statement per batch. The batch is
 * read through the due index and updated by primary key (`= any(array(…))`): with `in (select …)`
 * the planner joined it against a scan of the whole outbox, whose cost grew with the backlog.
 */
export async function claimDue(db: Database, limit: number, leaseSeconds: number): Promise<Claimed[]> {
  const rows = await executePrepared(
    db,
    "claim_dispatches",
    sql`
    with claimed as (
      update share_dispatches set leased_until = now() + make_interval(secs => ${leaseSeconds}),
             attempts = attempts + 1
      where share_id = any(array(
        select share_id from share_dispatches
        where due_at <= now() and (leased_until is null or leased_until < now())
        order by due_at limit ${limit} for update skip locked))
      returning share_id, attempts)
    select claimed.share_id as claimed_share_id, claimed.attempts as claimed_attempts,
           c.withdrawn_at as consent_withdrawn_at, c.expires_at as consent_expires_at,
           c.link_code as consent_link_code, ${columnsOf(shares, "s")}
    from claimed
    left join shares s on s.share_id = claimed.share_id
    left join consents c on c.consent_id = s.consent_id`,
  );
  return rows.map((row) => ({
    shareId: String(row.claimed_share_id),
    attempts: Number(row.claimed_attempts),
    share: row.share_id === null ? undefined : shareFromRow(row),
    consent:
      row.consent_expires_at === null
        ? undefined
        : {
            withdrawnAt: row.consent_withdrawn_at === null ? null : asDate(row.consent_withdrawn_at),
            expiresAt: asDate(row.consent_expires_at),
            linkCode: row.consent_link_code === null ? null : String(row.consent_link_code),
          },
  }));
}

/**
 * Records the batch's mints (hash, token id, expiry) and their audit events in one autocommitted
 * statement, before any token leaves: a dispatcher killed after this still left a trace of every
 * token. Returns the ids recorded; a share cancelled meanwhile is not, and its outbox row goes.
 */
export async function recordMints(
  db: Database,
  audit: AuditLog,
  minted: MintedShare[],
): Promise<Set<string>> {
  const ids = minted.map((m) => m.share.shareId);
  const rows = await executePrepared<{ share_id: string }>(
    db,
    "record_mints",
    sql`
    with input as (
      select * from unnest(${param(ids)}::uuid[],
                           ${param(minted.map((m) => m.tokenHash))}::text[],
                           ${param(minted.map((m) => m.tokenId))}::text[],
                           ${param(minted.map((m) => m.tokenExpiresAt))}::timestamptz[])
        as i(share_id, token_hash, token_id, token_expires_at)),
    minted as (
      update shares s set status = case when s.status = 'sent' then 'sent' else 'minted' end,
             token_hash = i.token_hash, token_id = i.token_id, token_expires_at = i.token_expires_at,
             updated_at = now()
      from input i
      where s.share_id = i.share_id
        and ${amongIdsInStates(sql`s.share_id`, ids, sql`s.status`, OPEN_SHARE_STATES)}
      returning s.share_id),
    gone as (
      delete from share_dispatches
      where share_id = any(${param(ids)}::uuid[])
        and share_id not in (select share_id from minted)),
    audit as (${audit.insertEach(
      minted.map((m) => ({
        ...shareAuditContext({ ...m.share, tokenId: m.tokenId, tokenExpiresAt: m.tokenExpiresAt }),
        action: "share.minted",
        outcome: m.share.status === "sent" ? "reminted_for_redrive" : "minted",
      })),
      "minted",
    )})
    select share_id from minted`,
  );
  return new Set(rows.map((row) => String(row.share_id)));
}

/**
 * Locks the batch's share rows (in id order, so two lockers never wait on each other in a circle)
 * and says which may still be sent. The lock orders sending against a consent withdrawal: each
 * share is sent or cancelled, never both.
 */
export async function lockSendable(
  tx: Executor,
  shareIds: string[],
): Promise<Map<string, "minted" | "sent">> {
  const result = await tx.execute<{ share_id: string; status: string }>(sql`
    select share_id, status from shares where share_id = any(${param(shareIds)}::uuid[])
    order by share_id for update`);
  const sendable = new Map<string, "minted" | "sent">();
  for (const row of result.rows) {
    if (row.status === "minted" || row.status === "sent") sendable.set(String(row.share_id), row.status);
  }
  return sendable;
}

/** Marks the sent shares, clears the batch's outbox rows and writes the send events: one statement. */
export async function markSent(
  tx: Executor,
  audit: AuditLog,
  sent: string[],
  done: string[],
  events: AuditEntry[],
): Promise<void> {
  await tx.execute(sql`
    with sent as (
      update shares set status = 'sent', sent_at = coalesce(sent_at, now()), updated_at = now()
      where share_id = any(${param(sent)}::uuid[])
      returning share_id),
    dispatch as (delete from share_dispatches where share_id = any(${param(done)}::uuid[])),
    audit as (${audit.insertEach(events, "sent")})
    select 1`);
}

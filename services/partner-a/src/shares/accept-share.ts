import { createHash, randomUUID } from "node:crypto";
import { isShareable, SHAREABLE_STATUSES } from "@share-broker/didit";
import { AppError, executePrepared, rowMapper } from "@share-broker/service-kit";
import { eq, param, sql } from "drizzle-orm";
import type { AuditEntry, AuditLog } from "../audit/audit-log.js";
import type { Database } from "../db/database.js";
import { consents, shareDispatches, shares } from "../db/schema/index.js";
import { latestSessionOf } from "../verifications/latest-session.js";

export interface ShareRequest {
  consent_id: string;
  recipient_ref?: string;
  ttl_seconds?: number;
}

export interface AcceptShareInput {
  request: ShareRequest;
  idempotencyKey: string | undefined;
  requestId: string;
  defaultTtlSeconds: number;
  now: Date;
}

type ShareRow = typeof shares.$inferSelect;

/** Fingerprint of what was asked, so an Idempotency-Key reused with another body is caught. */
function requestHash(request: ShareRequest): string {
  const canonical = JSON.stringify([
    request.consent_id,
    request.recipient_ref ?? null,
    request.ttl_seconds ?? null,
  ]);
  return createHash("sha256").update(canonical).digest("hex");
}

async function existingForKey(db: Database, key: string, hash: string): Promise<ShareRow | undefined> {
  const [existing] = await db.select().from(shares).where(eq(shares.idempotencyKey, key));
  if (existing && existing.requestHash !== hash) {
    throw new AppError(
      422,
      "idempotency_key_reused",
      "This Idempotency-Key was used with a different request body.",
    );
  }
  return existing;
}

class ShareRefusal extends AppError {
  constructor(
    status: number,
    code: string,
    message: string,
    readonly audit: Omit<AuditEntry, "action" | "outcome">,
  ) {
    super(status, code, message);
  }
}

/**
 * Accepts a share durably: the share, its audit event and its dispatch intent (the outbox row)
 * commit together, so a crash right after the 202 loses nothing. Refusals change nothing but
 * leave one audit event saying why.
 */
export async function acceptShare(
  db: Database,
  audit: AuditLog,
  input: AcceptShareInput,
): Promise<{ share: ShareRow; replayed: boolean }> {
  const hash = requestHash(input.request);
  if (input.idempotencyKey) {
    const existing = await existingForKey(db, input.idempotencyKey, hash);
    if (existing) return { share: existing, replayed: true };
  }
  try {
    const share =
      (await acceptInOneStatement(db, audit, input, hash)) ??
      (await acceptInTransaction(db, audit, input, hash));
    return { share, replayed: false };
  } catch (error) {
    if (error instanceof ShareRefusal) {
      await audit.record(db, {
        ...error.audit,
        action: "share.refused",
        outcome: error.code,
        requestId: input.requestId,
      });
      throw error;
    }
    // Two requests with one Idempotency-Key raced: the loser answers with the winner's share.
    if (input.idempotencyKey && (error as { code?: string }).code === "23505") {
      const existing = await existingForKey(db, input.idempotencyKey, hash);
      if (existing) return { share: existing, replayed: true };
    }
    throw error;
  }
}

const shareFromRow = rowMapper(shares);

/**
 * The common case in one statement instead of seven (throughput is bound by statements, not by
 * work): under a FOR SHARE lock on a usable consent, so a concurrent withdrawal either waits for
 * the share or cancels it, take the user's latest session if it is shareable and insert the share,
 * its outbox row and its audit event. Anything else (a refusal, a consent from before pseudonyms
 * were kept) returns undefined and takes the transaction, which decides and audits it.
 */
async function acceptInOneStatement(
  db: Database,
  audit: AuditLog,
  input: AcceptShareInput,
  hash: string,
): Promise<ShareRow | undefined> {
  const [row] = await executePrepared(
    db,
    "accept_share",
    sql`
    with consent as (
      select consent_id, user_id, user_pseudonym, audience, purpose, scope from consents
      where consent_id = ${input.request.consent_id}::uuid and withdrawn_at is null
        and expires_at > ${input.now}::timestamptz and user_pseudonym is not null
      for share),
    session as (
      select latest.session_id from consent c
      cross join lateral (
        select v.session_id, v.status from verification_sessions v where v.user_id = c.user_id
        order by v.created_at desc, v.status_at desc limit 1) latest
      where latest.status = any(${param([...SHAREABLE_STATUSES])}::text[])),
    share as (
      insert into shares (share_id, consent_id, user_id, user_pseudonym, session_id, audience, purpose, scope,
                          recipient_ref, ttl_seconds, status, idempotency_key, request_hash)
      select ${randomUUID()}::uuid, c.consent_id, c.user_id, c.user_pseudonym, s.session_id, c.audience,
             c.purpose, c.scope, ${input.request.recipient_ref ?? null},
             ${input.request.ttl_seconds ?? input.defaultTtlSeconds}::int, 'accepted',
             ${input.idempotencyKey ?? null}, ${hash}
      from consent c, session s
      returning *),
    dispatch as (insert into share_dispatches (share_id) select share_id from share),
    audit as (${audit.insertForShares("share", {
      action: "share.accepted",
      outcome: "accepted",
      requestId: input.requestId,
      details: sql`jsonb_build_object('consent_id', consent_id)`,
    })})
    select * from share`,
  );
  return row ? shareFromRow(row) : undefined;
}

/** The full decision under the consent's lock: refusals are found and explained here. */
async function acceptInTransaction(
  db: Database,
  audit: AuditLog,
  input: AcceptShareInput,
  hash: string,
): Promise<ShareRow> {
  return db.transaction(async (tx) => {
    // FOR SHARE: a concurrent withdrawal waits for this acceptance, then cancels the new share.
    const [consent] = await tx
      .select()
      .from(consents)
      .where(eq(consents.consentId, input.request.consent_id))
      .for("share");
    if (!consent) {
      throw new ShareRefusal(404, "consent_not_found", "No consent with this id.", {
        details: { consent_id: input.request.consent_id },
      });
    }
    const context = {
      userId: consent.userId,
      audience: consent.audience,
      purpose: consent.purpose,
      scope: consent.scope,
      details: { consent_id: consent.consentId },
    };
    if (consent.withdrawnAt) {
      throw new ShareRefusal(409, "consent_withdrawn", "The user withdrew this consent.", context);
    }
    if (consent.expiresAt <= input.now) {
      throw new ShareRefusal(409, "consent_expired", "This consent has expired.", context);
    }
    const session = await latestSessionOf(tx, consent.userId);
    if (!session || !isShareable(session.status)) {
      throw new ShareRefusal(
        409,
        "not_shareable",
        session
          ? `The user's latest verification is "${session.status}"; only Approved, Declined or In Review can be shared.`
          : "The user has no verification session to share.",
        context,
      );
    }
    const [inserted] = await tx
      .insert(shares)
      .values({
        shareId: randomUUID(),
        consentId: consent.consentId,
        userId: consent.userId,
        userPseudonym: consent.userPseudonym ?? audit.pseudonymOf(consent.userId),
        sessionId: session.sessionId,
        audience: consent.audience,
        purpose: consent.purpose,
        scope: consent.scope,
        recipientRef: input.request.recipient_ref ?? null,
        ttlSeconds: input.request.ttl_seconds ?? input.defaultTtlSeconds,
        status: "accepted",
        idempotencyKey: input.idempotencyKey ?? null,
        requestHash: hash,
      })
      .returning();
    if (!inserted) throw new Error("share insert returned nothing");
    await tx.insert(shareDispatches).values({ shareId: inserted.shareId });
    await audit.record(tx, {
      ...context,
      action: "share.accepted",
      outcome: "accepted",
      shareId: inserted.shareId,
      requestId: input.requestId,
    });
    return inserted;
  });
}

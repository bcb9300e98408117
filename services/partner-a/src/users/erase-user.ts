import type { UserErased } from "@share-broker/contracts";
import type { DiditClient } from "@share-broker/didit";
import { AppError, type Clock, type Logger } from "@share-broker/service-kit";
import { and, eq, isNull, sql } from "drizzle-orm";
import type { AuditLog } from "../audit/audit-log.js";
import { withdrawConsent } from "../consents/withdraw-consent.js";
import type { Database } from "../db/database.js";
import { consents, shares, verificationSessions } from "../db/schema/index.js";
import { deleteDiditSessions } from "./delete-didit-sessions.js";
import { diditSessionsOfUser } from "./didit-sessions-of-user.js";

/**
 * What an erased row holds instead of the user id: the empty string, which no request can name
 * (user ids are 1..256 characters), so an erased row is never found by user again. The user's
 * pseudonym stays where it was (consents.user_pseudonym, shares.user_pseudonym, the audit trail).
 */
export const ERASED_USER_ID = "";

/** Consents granted while an erasure runs are withdrawn by another round; a user being re-created non-stop is not erased. */
const MAX_ROUNDS = 3;

export interface EraseUserDeps {
  db: Database;
  didit: DiditClient;
  audit: AuditLog;
  clock: Clock;
  logger: Logger;
}

async function isKnown(db: Database, userId: string): Promise<boolean> {
  const { rows } = await db.execute<{ known: boolean }>(sql`select
      exists (select 1 from consents where user_id = ${userId})
      or exists (select 1 from verification_sessions where user_id = ${userId})
      or exists (select 1 from shares where user_id = ${userId}) as known`);
  return rows[0]?.known === true;
}

/**
 * Erases a user at partner-a (docs/OPERATIONS.md#erasure-request), in an order that keeps a failed
 * erasure retryable:
 *
 * 1. Didit first: the user's sessions of partner-a's application are listed and deleted. A Didit
 *    failure answers 503/502 before any local row changes, and a retry finds the same sessions
 *    (those already deleted answer 404, which counts as deleted).
 * 2. Every live consent is withdrawn through the ordinary withdrawal, which cancels (and audits)
 *    what it cancels for any consent.
 * 3. One transaction anonymises every row that held the user id or consent evidence and records
 *    `user.erased` under the pseudonym. A session recorded meanwhile is deleted at Didit inside it
 *    (a failure rolls it back); a consent granted meanwhile sends the erasure round again.
 *
 * Afterwards nothing holds the user id, so a second erasure answers 404 `user_not_found`.
 */
export async function eraseUser(deps: EraseUserDeps, userId: string, requestId: string): Promise<UserErased> {
  const { db, didit, audit, logger } = deps;
  if (!(await isKnown(db, userId))) {
    throw new AppError(404, "user_not_found", "No consent, share or verification holds this user.");
  }
  const deleted = new Set(
    await deleteDiditSessions(didit, await diditSessionsOfUser(db, didit, userId), logger),
  );
  const withdrawn: string[] = [];

  for (let round = 1; round <= MAX_ROUNDS; round++) {
    const live = await db
      .select({ consentId: consents.consentId })
      .from(consents)
      .where(and(eq(consents.userId, userId), isNull(consents.withdrawnAt)));
    for (const { consentId } of live) {
      await withdrawConsent(db, audit, consentId, requestId);
      withdrawn.push(consentId);
    }
    const erased = await db.transaction(async (tx) => {
      // Locks the user's consents, so none can be shared from while their rows are anonymised.
      const locked = await tx
        .select({ consentId: consents.consentId, withdrawnAt: consents.withdrawnAt })
        .from(consents)
        .where(eq(consents.userId, userId))
        .for("update");
      if (locked.some((consent) => consent.withdrawnAt === null)) return undefined;

      const sessions = await tx
        .update(verificationSessions)
        .set({ userId: ERASED_USER_ID, url: null, updatedAt: sql`now()` })
        .where(eq(verificationSessions.userId, userId))
        .returning({ sessionId: verificationSessions.sessionId });
      const latecomers = sessions.map((row) => row.sessionId).filter((id) => !deleted.has(id));
      for (const id of await deleteDiditSessions(didit, latecomers, logger)) deleted.add(id);
      const anonymisedConsents = await tx
        .update(consents)
        .set({ userId: ERASED_USER_ID, evidence: {}, linkCode: null })
        .where(eq(consents.userId, userId))
        .returning({ consentId: consents.consentId });
      // An idempotency key is the client's free text: it may carry the user id.
      const anonymisedShares = await tx
        .update(shares)
        .set({ userId: ERASED_USER_ID, idempotencyKey: null, updatedAt: sql`now()` })
        .where(eq(shares.userId, userId))
        .returning({ shareId: shares.shareId });
      const anonymised = {
        consents: anonymisedConsents.length,
        shares: anonymisedShares.length,
        verification_sessions: sessions.length,
      };
      await audit.record(tx, {
        action: "user.erased",
        outcome: "erased",
        userId,
        requestId,
        details: { withdrawn_consents: withdrawn.length, deleted_sessions: [...deleted], anonymised },
      });
      return anonymised;
    });
    if (erased) {
      logger.info(
        { withdrawn_consents: withdrawn.length, deleted_sessions: deleted.size, ...erased },
        "user erased",
      );
      return {
        user_pseudonym: audit.pseudonymOf(userId),
        withdrawn_consent_ids: withdrawn,
        deleted_sessions: [...deleted],
        anonymised: erased,
        erased_at: deps.clock.now().toISOString(),
      };
    }
  }
  throw new AppError(
    503,
    "service_unavailable",
    "New consents kept arriving for this user while erasing; retry the erasure.",
  );
}

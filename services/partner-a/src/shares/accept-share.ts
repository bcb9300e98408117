import { createHash, randomUUID } from "node:crypto";
import type { ErrorCodeValue } from "@share-broker/contracts";
import { isShareable } from "@share-broker/didit";
import { AppError, GroupCommit, postgresErrorCode } from "@share-broker/service-kit";
import { eq } from "drizzle-orm";
import type { AuditEntry, AuditLog } from "../audit/audit-log.js";
import type { PartnerABatchFallbacks } from "../batches.js";
import type { Database } from "../db/database.js";
import { consents, shareDispatches, shares } from "../db/schema/index.js";
import { latestSessionOf } from "../verifications/latest-session.js";
import { acceptInOneStatement, type PendingAccept } from "./accept-in-one-statement.js";

export interface ShareRequest {
  consent_id: string;
  ttl_seconds?: number;
}

export interface AcceptShareInput {
  request: ShareRequest;
  idempotencyKey: string | undefined;
  requestId: string;
  /** The API principal asking, carried with the request because accepts are batched. */
  principal: string | null;
  defaultTtlSeconds: number;
  now: Date;
}

type ShareRow = typeof shares.$inferSelect;

/** Fingerprint of what was asked, so an Idempotency-Key reused with another body is caught. */
function requestHash(request: ShareRequest): string {
  // The null stands where a recipient_ref was, so hashes recorded before it went still match.
  const canonical = JSON.stringify([request.consent_id, null, request.ttl_seconds ?? null]);
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
    code: ErrorCodeValue,
    message: string,
    readonly audit: Omit<AuditEntry, "action" | "outcome">,
  ) {
    super(status, code, message);
  }
}

/**
 * Accepts shares durably: the share, its audit event and its dispatch intent (the outbox row)
 * commit together, so a crash right after the 202 loses nothing. Refusals change nothing but
 * leave one audit event saying why. Requests that arrive together are accepted by one statement
 * (group commit); a request that statement cannot settle takes a transaction of its own.
 */
export class ShareAcceptor {
  readonly #together: GroupCommit<PendingAccept, ShareRow | undefined>;

  constructor(
    private readonly db: Database,
    private readonly audit: AuditLog,
    fallbacks: PartnerABatchFallbacks,
  ) {
    this.#together = new GroupCommit((pending) => acceptInOneStatement(db, audit, pending), {
      maxBatch: 64,
      maxInFlight: 2,
      // A failed group statement (e.g. an Idempotency-Key race inside it) inserted nothing: each of
      // its requests then goes through the transaction below, which answers for its own request.
      alone: async () => undefined,
      onFallback: fallbacks.for("accept_share"),
    });
  }

  async accept(input: AcceptShareInput): Promise<{ share: ShareRow; replayed: boolean }> {
    const { db, audit } = this;
    const hash = requestHash(input.request);
    if (input.idempotencyKey) {
      const existing = await existingForKey(db, input.idempotencyKey, hash);
      if (existing) return { share: existing, replayed: true };
    }
    try {
      // Undefined when the group statement left this request to the transaction (see the constructor).
      const together = await this.#together.submit({ input, requestHash: hash });
      const share = together ?? (await acceptInTransaction(db, audit, input, hash));
      return { share, replayed: false };
    } catch (error) {
      if (error instanceof ShareRefusal) {
        await audit.record(db, {
          ...error.audit,
          action: "share.refused",
          outcome: error.code,
          requestId: input.requestId,
          principal: input.principal,
        });
        throw error;
      }
      // Two requests with one Idempotency-Key raced: the loser answers with the winner's share.
      if (input.idempotencyKey && postgresErrorCode(error) === "23505") {
        const existing = await existingForKey(db, input.idempotencyKey, hash);
        if (existing) return { share: existing, replayed: true };
      }
      throw error;
    }
  }
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
      principal: input.principal,
    });
    return inserted;
  });
}

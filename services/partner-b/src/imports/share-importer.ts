import { createHash } from "node:crypto";
import type {
  ClaimsOf,
  DeadLetterQueue,
  EnvelopeOpener,
  EnvelopeRejection,
  InboxRevocations,
  Partner,
} from "@share-broker/channel";
import { LINK_CODE_REFUSALS } from "@share-broker/contracts";
import {
  DiditAuthError,
  type DiditClient,
  DiditError,
  DiditForbiddenError,
  DiditNotFoundError,
  DiditRateLimitError,
  DiditUnavailableError,
  DiditValidationError,
  decodeShareTokenClaims,
  isShareTokenExpired,
  type ShareTokenClaims,
  shareTokenId,
} from "@share-broker/didit";
import type { Clock } from "@share-broker/service-kit";
import { failpoint, type Logger } from "@share-broker/service-kit";
import { DelayedError, UnrecoverableError } from "bullmq";
import { eq } from "drizzle-orm";
import type { AuditLog } from "../audit/audit-log.js";
import type { InboxJob } from "../channel/inbox-worker.js";
import { channelJobId } from "../channel/job-ids.js";
import type { Database } from "../db/database.js";
import { imports } from "../db/schema/index.js";
import { linkCodeHash } from "../links/link-codes.js";
import type { ImportPolicy } from "../policies/import-policy.js";
import { findImportedCopy } from "./find-imported-copy.js";
import type { ImportRow } from "./import-row.js";
import type { ImportStore, ReceivedOffer } from "./import-store.js";
import { recordRevokedCopyDeleted, revokeImport } from "./revoke-import.js";

export interface ShareImporterOptions {
  inboxQueue: string;
  leaseSeconds: number;
  retryBaseMs: number;
  retryMaxMs: number;
}

export interface ShareImporterDeps {
  db: Database;
  store: ImportStore;
  didit: DiditClient;
  opener: EnvelopeOpener;
  deadLetter: DeadLetterQueue;
  policy: ImportPolicy;
  audit: AuditLog;
  clock: Clock;
  logger: Logger;
  /** This partner's registry entry: its Didit application id is what share tokens must be addressed to. */
  self: Partner;
  /** Called after an outcome commits, so its result goes out now rather than at the next poll. */
  wakeResults: () => void;
  /** Revocations waiting in our inbox, looked up before an import so one behind its offer wins. */
  revocations: Pick<InboxRevocations, "waitingEnvelope">;
}

type OfferClaims = ClaimsOf<"share-offer">;

/** Why an import is refused; these codes reach the sharer in its import result. */
export const REJECTION = {
  linkCodeUnknown: LINK_CODE_REFUSALS.unknown,
  linkCodeExpired: LINK_CODE_REFUSALS.expired,
  linkCodeUsed: LINK_CODE_REFUSALS.used,
  tokenInvalid: "token_expired_or_invalid",
  tokenExpired: "token_expired",
  tokenForAnotherApplication: "token_for_another_application",
  noPolicy: "no_policy",
  forbidden: "forbidden",
  sourceGone: "source_gone",
  invalidRequest: "invalid_request",
  expiredInTransit: "expired_in_transit",
  diditRefused: "didit_refused",
} as const;

/**
 * The inbox worker's job (docs/ARCHITECTURE.md#the-flow, step 5): open the envelope, record its receipt once,
 * apply the import policy, call import-shared, and record the outcome with its result for the sharer.
 *
 * Exactly one import per share, however often it is delivered: the receipt is unique per (source,
 * share id), one delivery at a time holds an import (a lease keyed by job id), and an import whose
 * response was lost (crash, timeout) is found again by listing our sessions for its vendor_data
 * when Didit answers 403 "already imported" to the retry.
 */
export class ShareImporter {
  constructor(
    private readonly deps: ShareImporterDeps,
    private readonly options: ShareImporterOptions,
  ) {}

  async handle(job: InboxJob, token: string | undefined): Promise<void> {
    const jobId = String(job.id);
    const envelope = typeof job.data?.envelope === "string" ? job.data.envelope : "";
    // An inbox carries offers and revocations; an import result (or anything else) is refused.
    const opened = await this.deps.opener.open(envelope);
    if (!opened.ok) return this.#deadLetter(jobId, envelope, opened);
    if (opened.claims.typ === "share-revoke") return this.#revoke(opened.claims, jobId);
    if (opened.claims.typ !== "share-offer") {
      return this.#deadLetter(jobId, envelope, {
        ok: false,
        reason: "wrong_type",
        sender: opened.claims.iss,
        jti: opened.claims.jti,
      });
    }

    const claims = opened.claims;
    const shareToken = claims.payload.share_token;
    const decoded = decodeShareTokenClaims(shareToken);
    const tokenClaims = decoded.ok ? decoded.claims : undefined;
    const offer = receivedOffer(claims, shareToken, tokenClaims);
    const log = this.deps.logger.child({
      share_id: offer.shareId,
      source: offer.sourcePartner,
      job_id: jobId,
    });

    const decision = this.deps.policy.decide(offer.sourcePartner, offer.scope);
    const lease = { seconds: this.options.leaseSeconds, policy: decision };
    const receipt = await this.deps.store.receive(offer, jobId, lease);
    if (receipt.kind === "new" && receipt.row.status === "rejected") {
      // The link code was refused at receipt: recorded rejected with its result, nothing to import.
      this.deps.wakeResults();
      log.info({ import_id: receipt.row.importId, reason: receipt.row.reason }, "offer's link code refused");
      return;
    }
    if (receipt.kind === "finished") {
      log.info(
        { import_id: receipt.row.importId, resent: receipt.resent },
        "replayed offer; result sent again",
      );
      if (receipt.resent) this.deps.wakeResults();
      return;
    }
    // A first receipt comes claimed for this delivery; one received before is claimed now, if free.
    const row =
      receipt.kind === "new" ? receipt.row : await this.deps.store.claim(receipt.row, offer, jobId, lease);
    if (!row) {
      await this.deps.store.recordDuplicate(receipt.row, jobId);
      log.info({ import_id: receipt.row.importId }, "offer already being imported by another delivery");
      return;
    }
    const refusal = this.#earlyRefusal(row, tokenClaims, decision !== undefined);
    if (refusal) {
      await this.#reject(row, refusal, {});
      log.info({ import_id: row.importId, reason: refusal }, "offer refused before import");
      return;
    }
    if (await this.#revokedMeanwhile(offer)) return;
    await this.#import(row, shareToken, jobId, job, token, log);
  }

  /**
   * A revocation of this share already waiting in our inbox (queued behind its offer): applied now,
   * verified like any envelope, so the offer is never imported. Its own job later finds it applied.
   */
  async #revokedMeanwhile(offer: ReceivedOffer): Promise<boolean> {
    const envelope = await this.deps.revocations.waitingEnvelope(offer.shareId);
    if (envelope === undefined) return false;
    const opened = await this.deps.opener.open(envelope, "share-revoke");
    if (!opened.ok || opened.claims.jti !== offer.shareId || opened.claims.iss !== offer.sourcePartner) {
      return false;
    }
    await this.#revoke(opened.claims, "(waiting in the inbox)");
    return true;
  }

  /** The sharer revoked the share: see revokeImport for what that does to its import. */
  async #revoke(claims: ClaimsOf<"share-revoke">, jobId: string): Promise<void> {
    const outcome = await revokeImport(this.deps.db, this.deps.audit, {
      sourcePartner: claims.iss,
      shareId: claims.jti,
      reason: claims.payload.reason,
      revokedAt: new Date(claims.payload.revoked_at),
      jobId,
    });
    this.deps.wakeResults();
    this.deps.logger.info(
      { share_id: claims.jti, source: claims.iss, job_id: jobId, revocation: outcome },
      "share revoked by its sharer",
    );
  }

  /**
   * An import Didit made while the sharer's revocation closed the row (recordImported found it no
   * longer open): the copy is deleted, so a revoked share is never left imported. Any other reason
   * the row was closed (another delivery finished it) leaves the copy alone.
   */
  async #undoIfRevoked(row: ImportRow, sessionId: string, log: Logger): Promise<void> {
    const [current] = await this.deps.db.select().from(imports).where(eq(imports.importId, row.importId));
    if (current?.status !== "revoked" || current.diditSessionId === sessionId) return;
    try {
      await this.deps.didit.deleteSession(sessionId);
    } catch (error) {
      // Not found: already gone. Anything else: the job fails and its retry comes back here.
      if (!(error instanceof DiditNotFoundError)) throw error;
    }
    await recordRevokedCopyDeleted(this.deps.db, this.deps.audit, current, sessionId);
    log.warn({ import_id: row.importId }, "imported while being revoked; the Didit copy was deleted");
  }

  /** Refusals that need no Didit call. The claims are unverified: they may only refuse, never accept. */
  #earlyRefusal(
    row: ImportRow,
    claims: ShareTokenClaims | undefined,
    hasPolicy: boolean,
  ): string | undefined {
    if (!hasPolicy) return REJECTION.noPolicy;
    if (!claims) return REJECTION.tokenInvalid;
    if (claims.for_application_id.toLowerCase() !== this.deps.self.diditApplicationId.toLowerCase()) {
      return REJECTION.tokenForAnotherApplication;
    }
    if (isShareTokenExpired(claims, Math.floor(this.deps.clock.now().getTime() / 1000))) {
      return row.attempts > 1 ? REJECTION.expiredInTransit : REJECTION.tokenExpired;
    }
    return undefined;
  }

  async #import(
    row: ImportRow,
    shareToken: string,
    jobId: string,
    job: InboxJob,
    token: string | undefined,
    log: Logger,
  ): Promise<void> {
    let imported: Awaited<ReturnType<DiditClient["importSharedSession"]>>;
    try {
      imported = await this.deps.didit.importSharedSession({
        share_token: shareToken,
        workflow_id: row.workflowId as string,
        trust_review: row.trustReview as boolean,
        // Set with the link code's redemption at receipt; only a receipt that redeemed it is importing.
        vendor_data: row.vendorData as string,
      });
    } catch (error) {
      return this.#onImportError(error, row, jobId, job, token, log);
    }
    // Tests kill the worker here: Didit holds the import, our database does not know yet.
    failpoint("after-import-call");
    const recorded = await this.deps.store.recordImported(
      row,
      {
        sessionId: imported.session_id,
        status: imported.status,
        statusAt: didItTime(imported.created_at, this.deps.clock.now()),
        sharedFromSession: imported.shared_from_session ?? null,
      },
      { job_id: jobId, attempt: row.attempts, reconciled: false },
    );
    if (recorded) this.deps.wakeResults();
    else await this.#undoIfRevoked(row, imported.session_id, log);
    log.info(
      { import_id: row.importId, didit_session_id: imported.session_id, status: imported.status },
      "imported",
    );
  }

  async #onImportError(
    error: unknown,
    row: ImportRow,
    jobId: string,
    job: InboxJob,
    token: string | undefined,
    log: Logger,
  ): Promise<void> {
    // Not Didit's answer (e.g. our database): BullMQ retries the job with its own backoff.
    if (!(error instanceof DiditError)) throw error;
    const details = {
      job_id: jobId,
      attempt: row.attempts,
      didit_status: error.status,
      error: error.message,
    };
    if (error.retryable) return this.#retryLater(row, error, jobId, job, token, log);
    if (error instanceof DiditAuthError) {
      // 401 also answers a wrong API key of ours; that must not reject every offer as a bad token.
      if (await this.#ourKeyIsRefused()) {
        return this.#retryLater(
          row,
          new DiditUnavailableError({
            status: error.status,
            operation: error.operation,
            detail: "partner-b's Didit API key is refused",
          }),
          jobId,
          job,
          token,
          log,
        );
      }
      return this.#reject(row, REJECTION.tokenInvalid, details);
    }
    if (error instanceof DiditForbiddenError)
      return this.#reconcileForbidden(row, error, jobId, job, token, log);
    // Didit checks the source session before the workflow (docs/DIDIT.md#import-a-shared-session, rows 5–6)
    // and its 404 does not say which one failed. We report source_gone: sessions can be deleted at any time,
    // while the policy's workflow ids are fixed configuration an operator sees failing on every import.
    if (error instanceof DiditNotFoundError) return this.#reject(row, REJECTION.sourceGone, details);
    if (error instanceof DiditValidationError) return this.#reject(row, REJECTION.invalidRequest, details);
    return this.#reject(row, REJECTION.diditRefused, details);
  }

  async #ourKeyIsRefused(): Promise<boolean> {
    try {
      await this.deps.didit.listSessions({ limit: 1 });
      return false;
    } catch (error) {
      return error instanceof DiditAuthError;
    }
  }

  /**
   * 403 means the token is addressed elsewhere or the source session is already imported here. The
   * latter after our own crash or lost response is a success to recover, not a failure: our copy is
   * listed under this import's vendor_data with shared_from_session = the token's source session.
   */
  async #reconcileForbidden(
    row: ImportRow,
    forbidden: DiditForbiddenError,
    jobId: string,
    job: InboxJob,
    token: string | undefined,
    log: Logger,
  ): Promise<void> {
    let found: Awaited<ReturnType<typeof findImportedCopy>>;
    try {
      found = await findImportedCopy(this.deps.didit, this.deps.store, this.deps.db, row);
    } catch (error) {
      if (error instanceof DiditError && error.retryable)
        return this.#retryLater(row, error, jobId, job, token, log);
      throw error;
    }
    const details = { job_id: jobId, attempt: row.attempts, didit_status: 403, error: forbidden.message };
    if (found.kind === "copy") {
      const recorded = await this.deps.store.recordImported(row, found.copy, {
        ...details,
        reconciled: true,
      });
      if (recorded) this.deps.wakeResults();
      else await this.#undoIfRevoked(row, found.copy.sessionId, log);
      log.info(
        { import_id: row.importId, didit_session_id: found.copy.sessionId },
        "import reconciled after 403",
      );
      return;
    }
    const extra = found.kind === "recorded_elsewhere" ? { already_imported_by: found.importId } : {};
    return this.#reject(row, REJECTION.forbidden, { ...details, ...extra });
  }

  /** Transient failures are retried with backoff (Retry-After when Didit sent one) until the token expires. */
  async #retryLater(
    row: ImportRow,
    error: DiditError,
    jobId: string,
    job: InboxJob,
    token: string | undefined,
    log: Logger,
  ): Promise<void> {
    const retryAfterSeconds = error instanceof DiditRateLimitError ? error.retryAfterSeconds : null;
    const backoffMs = Math.min(
      this.options.retryBaseMs * 2 ** Math.max(0, row.attempts - 1),
      this.options.retryMaxMs,
    );
    const delayMs = retryAfterSeconds !== null ? retryAfterSeconds * 1000 : backoffMs;
    const retryAt = new Date(this.deps.clock.now().getTime() + delayMs);
    const reason = `didit ${error.status ?? "network"}: ${error.message}`;
    if (retryAt >= row.tokenExpiresAt) {
      await this.#reject(row, REJECTION.expiredInTransit, {
        job_id: jobId,
        attempt: row.attempts,
        didit_status: error.status,
        error: reason,
      });
      log.warn({ import_id: row.importId }, "token expires before Didit can be retried; import rejected");
      return;
    }
    await this.deps.store.recordRetry(row, jobId, retryAt, this.options.leaseSeconds, reason);
    log.warn(
      { import_id: row.importId, attempt: row.attempts, retry_in_ms: delayMs, err: error },
      "import will be retried",
    );
    // Without the lock token the job cannot be re-delayed; BullMQ's own backoff retries it instead.
    if (token === undefined) throw error;
    await job.moveToDelayed(retryAt.getTime(), token);
    throw new DelayedError();
  }

  async #reject(row: ImportRow, reason: string, details: Record<string, unknown>): Promise<void> {
    const recorded = await this.deps.store.recordNotImported(row, "rejected", reason, details);
    if (recorded) this.deps.wakeResults();
  }

  /**
   * An envelope that does not open (tampered, unknown signer, misaddressed, expired, wrong type) is
   * set aside for a person and never imported. Its sender is unproven unless the opener says so.
   */
  async #deadLetter(jobId: string, envelope: string, rejection: EnvelopeRejection): Promise<never> {
    await this.deps.deadLetter.sendToDeadLetter(channelJobId(jobId), envelope, rejection.reason);
    await this.deps.audit.record(this.deps.db, {
      action: "envelope.dead_lettered",
      outcome: rejection.reason,
      sourcePartner: rejection.sender ?? null,
      shareId: rejection.jti ?? null,
      details: {
        job_id: jobId,
        queue: this.options.inboxQueue,
        sender_proven: rejection.sender !== undefined,
      },
    });
    this.deps.logger.warn({ job_id: jobId, reason: rejection.reason }, "envelope refused; dead-lettered");
    throw new UnrecoverableError(`envelope refused: ${rejection.reason}`);
  }
}

function receivedOffer(
  claims: OfferClaims,
  shareToken: string,
  tokenClaims: ShareTokenClaims | undefined,
): ReceivedOffer {
  const payload = claims.payload;
  const declaredExpiry = Date.parse(payload.token_expires_at);
  const tokenExpiry = tokenClaims ? Math.min(tokenClaims.exp * 1000, declaredExpiry) : declaredExpiry;
  return {
    sourcePartner: claims.iss,
    shareId: claims.jti,
    userPseudonym: payload.user_pseudonym,
    purpose: payload.purpose,
    scope: payload.scope,
    consentId: payload.consent_id,
    linkCodeHash: linkCodeHash(payload.link_code),
    sessionKind: tokenClaims?.session_kind ?? payload.session_kind,
    tokenHash: createHash("sha256").update(shareToken, "utf8").digest("hex"),
    tokenId: shareTokenId(shareToken),
    tokenExpiresAt: new Date(tokenExpiry),
    claimedSourceSession: tokenClaims?.session_id ?? null,
  };
}

/** Didit's created_at of our copy, so later webhook events (same clock) compare against it. */
function didItTime(createdAt: string | undefined, fallback: Date): Date {
  const parsed = createdAt ? Date.parse(createdAt) : Number.NaN;
  return Number.isNaN(parsed) ? fallback : new Date(parsed);
}

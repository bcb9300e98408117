import { isTerminalImportState, isTerminalShareState, SCOPES, type Scope } from "@share-broker/contracts";
import type { ImportView, ShareView } from "./clients.js";
import {
  check,
  checkEqual,
  ExpectationFailed,
  eventually,
  type ScenarioContext,
  ScenarioSkipped,
} from "./scenario.js";

/** Steps scenarios share: a verified user, a consent, a share, and waiting on both partners. */

export interface SharedUser {
  userId: string;
  sessionId: string;
}

/** A user of partner A whose latest Didit session is `status`, finished through the sandbox and applied by webhook. */
export async function verifiedUser(ctx: ScenarioContext, status = "Approved"): Promise<SharedUser> {
  const userId = ctx.uniqueId("user");
  ctx.step(`creating a verification for ${userId}`);
  const { session_id: sessionId } = await ctx.a.createVerification(userId);
  ctx.step(`finishing session ${sessionId} as ${status} in the sandbox`);
  await ctx.sandbox.complete(sessionId, status);
  let seen: string | undefined;
  await eventually(
    async () => {
      const answer = await ctx.a.verificationOf(userId);
      seen = answer.body.status;
      return seen === status ? true : undefined;
    },
    {
      timeoutMs: 15_000,
      what: `partner-a applying Didit's ${status} webhook for ${userId}`,
      signal: ctx.signal,
      lastSeen: () => seen,
    },
  );
  return { userId, sessionId };
}

/** A user whose only session was created and never finished (Not Started). */
export async function unfinishedUser(ctx: ScenarioContext): Promise<SharedUser> {
  const userId = ctx.uniqueId("user");
  ctx.step(`creating a verification for ${userId}`);
  const { session_id: sessionId, status } = await ctx.a.createVerification(userId);
  check(status !== "Approved", `a new session for ${userId} is already ${status}`);
  return { userId, sessionId };
}

/**
 * partner-b's single-use link code for its user `userRef`, redeemable by partner A only: what the
 * user brings from partner-b to partner A's consent.
 */
export async function linkCodeFor(ctx: ScenarioContext, userRef: string): Promise<string> {
  ctx.step(`asking partner-b for a link code for its user ${userRef}`);
  const created = await ctx.b.createLinkRequest({ user_ref: userRef, source: ctx.config.partnerAId });
  return created.code;
}

/**
 * A consent of `userId` to share `scope` with partner B, carrying a link code partner-b issued for
 * its user `userRef` (or `linkCode` as given): partner B imports for userRef.
 */
export async function consentFor(
  ctx: ScenarioContext,
  userId: string,
  scope: Scope,
  link: { userRef: string } | { linkCode: string } = { userRef: ctx.uniqueId("ref") },
): Promise<string> {
  const linkCode = "linkCode" in link ? link.linkCode : await linkCodeFor(ctx, link.userRef);
  ctx.step(`recording ${userId}'s consent to share ${scope} with ${ctx.config.partnerBId}`);
  return ctx.a.createConsent({
    user_id: userId,
    audience: ctx.config.partnerBId,
    purpose: "onboarding",
    scope,
    link_code: linkCode,
    evidence: { method: "integration-harness", text_version: "v1" },
  });
}

/** POST /v1/shares that must be accepted (202). */
export async function acceptedShare(ctx: ScenarioContext, consentId: string): Promise<string> {
  ctx.step(`sharing consent ${consentId}`);
  const answer = await ctx.a.requestShare({ consent_id: consentId });
  if (answer.status !== 202 || !answer.body.share_id) {
    throw ctx.a.api.unexpected(answer, "POST", "/v1/shares", "expected 202 accepted");
  }
  return answer.body.share_id;
}

export interface StartedShare extends SharedUser {
  shareId: string;
  /** partner-b's user the consent's link code was issued for: partner B's vendor_data. */
  userRef: string;
  consentId: string;
}

/** A user of partner B and the link code partner-b issued for it, to share to it later. */
export interface IssuedLink {
  userRef: string;
  linkCode: string;
}

/** A new partner-b user `label-…` and its link code: issue it first when partner-b will be down. */
export async function issuedLink(ctx: ScenarioContext, label = "ref"): Promise<IssuedLink> {
  const userRef = ctx.uniqueId(label);
  return { userRef, linkCode: await linkCodeFor(ctx, userRef) };
}

/**
 * A verified user, a link code from partner B (or `link`, issued before), a consent carrying it
 * and an accepted share.
 */
export async function startShare(
  ctx: ScenarioContext,
  options: { scope: Scope; sessionStatus?: string; label?: string; link?: IssuedLink },
): Promise<StartedShare> {
  const user = await verifiedUser(ctx, options.sessionStatus ?? "Approved");
  const { userRef, linkCode } = options.link ?? (await issuedLink(ctx, options.label));
  const consentId = await consentFor(ctx, user.userId, options.scope, { linkCode });
  const shareId = await acceptedShare(ctx, consentId);
  return { ...user, consentId, shareId, userRef };
}

function describeShare(share: ShareView | undefined): string | undefined {
  if (!share) return undefined;
  const reason = share.reason ?? share.import?.reason;
  return `${share.status}${reason ? ` (${reason})` : ""}`;
}

/** Waits until partner A shows the share in `status`; another terminal state fails at once. */
export async function shareReaches(
  ctx: ScenarioContext,
  shareId: string,
  status: string,
  timeoutMs = 30_000,
): Promise<ShareView> {
  ctx.step(`waiting for share ${shareId} to be ${status} at partner-a`);
  let last: ShareView | undefined;
  return eventually(
    async () => {
      last = await ctx.a.share(shareId);
      if (last.status === status) return last;
      if (isTerminalShareState(last.status)) {
        throw new ExpectationFailed(
          `share ${shareId} ended ${describeShare(last)} at partner-a, expected ${status}`,
        );
      }
      return undefined;
    },
    {
      timeoutMs,
      what: `share ${shareId} reaching ${status} at partner-a`,
      signal: ctx.signal,
      lastSeen: () => describeShare(last),
    },
  );
}

/** Partner B's records of a share id once one is final (the list is newest first). */
export async function finishedImportsAtB(ctx: ScenarioContext, shareId: string, timeoutMs = 30_000) {
  ctx.step(`waiting for partner-b's import of ${shareId}`);
  let last: ImportView | undefined;
  return eventually(
    async () => {
      const imports = await ctx.b.importsOf({ share_id: shareId });
      last = imports[0];
      return last && isTerminalImportState(last.status) ? imports : undefined;
    },
    {
      timeoutMs,
      what: `partner-b finishing its import of share ${shareId}`,
      signal: ctx.signal,
      lastSeen: () => (last ? `${last.status}${last.reason ? ` (${last.reason})` : ""}` : "no import record"),
    },
  );
}

/** Exactly one record at partner B for the share, final; returns it. */
export async function singleImportAtB(ctx: ScenarioContext, shareId: string, timeoutMs = 30_000) {
  const imports = await finishedImportsAtB(ctx, shareId, timeoutMs);
  checkEqual(imports.length, 1, `partner-b's import records for share ${shareId}`);
  return imports[0] as ImportView;
}

/** Checks how many copies Didit holds in partner B's application, when B's Didit key is configured. */
export async function checkDiditCopies(
  ctx: ScenarioContext,
  vendorData: string,
  expected: number,
): Promise<void> {
  if (!ctx.didit.canCountImports) {
    ctx.note("Didit's copies not counted (SANDBOX_PARTNER_B_DIDIT_KEY unset)");
    return;
  }
  ctx.step(`counting Didit's imports for vendor_data ${vendorData}`);
  checkEqual(
    await ctx.didit.importedCopies(vendorData),
    expected,
    `sessions Didit holds in partner B's application for vendor_data ${vendorData}`,
  );
}

/**
 * A scope partner B's policy imports from partner A with the wanted trust_review (read from B's
 * GET /v1/policies, so the scenario works whatever policy a deployment has). Skips when none does.
 */
export async function scopeWithTrustReview(ctx: ScenarioContext, trustReview: boolean): Promise<Scope> {
  ctx.step("reading partner-b's import policy");
  const policy = await ctx.b.policies();
  const fromA = policy.rules.filter((rule) => rule.source === ctx.config.partnerAId);
  // A rule may name a scope partner-a never offers; only the contract's scopes can be consented to.
  const ruled = SCOPES.find((scope) =>
    fromA.some((rule) => rule.scope === scope && rule.trust_review === trustReview),
  );
  if (ruled) return ruled;
  const unruled = SCOPES.find((scope) => !fromA.some((rule) => rule.scope === scope));
  if (policy.default?.trust_review === trustReview && unruled) return unruled;
  throw new ScenarioSkipped(
    `partner-b's policy (version ${policy.version}) imports no scope from ${ctx.config.partnerAId} with trust_review ${trustReview}`,
  );
}

export function seconds(
  fromIso: string | null | undefined,
  toIso: string | null | undefined,
): number | undefined {
  if (!fromIso || !toIso) return undefined;
  return (Date.parse(toIso) - Date.parse(fromIso)) / 1000;
}

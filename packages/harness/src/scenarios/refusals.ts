import { randomUUID } from "node:crypto";
import type { ErrorBody } from "../clients.js";
import {
  acceptedShare,
  consentFor,
  scopeWithTrustReview,
  shareReaches,
  unfinishedUser,
  verifiedUser,
} from "../flows.js";
import { check, checkEqual, eventually, type Scenario, sleep } from "../scenario.js";

function codeOf(body: unknown): string | undefined {
  return (body as ErrorBody | undefined)?.error?.code;
}

export const unfinishedSessionRefused: Scenario = {
  name: "unfinished-session-refused",
  expectation:
    "a user whose latest session is unfinished (Not Started) cannot be shared: 409 not_shareable, nothing reaches partner-b",
  requires: [],
  budgetSeconds: 30,
  async run(ctx) {
    const user = await unfinishedUser(ctx);
    const consentId = await consentFor(ctx, user.userId, "kyc");
    const recipientRef = ctx.uniqueId("unfinished");
    ctx.step("sharing the unfinished session");
    const answer = await ctx.a.requestShare({ consent_id: consentId, recipient_ref: recipientRef });
    checkEqual(answer.status, 409, "status of POST /v1/shares for an unfinished session");
    checkEqual(codeOf(answer.body), "not_shareable", "error code");
    check(!answer.body.share_id, "a refused share still got a share id");
    checkEqual(
      (await ctx.b.importsOf({ vendor_data: recipientRef })).length,
      0,
      "partner-b's imports for it",
    );
    ctx.note("409 not_shareable");
  },
};

export const noConsent: Scenario = {
  name: "no-consent",
  expectation: "a share without a recorded consent is refused with 404 consent_not_found",
  requires: [],
  budgetSeconds: 15,
  async run(ctx) {
    ctx.step("sharing under a consent id partner-a never issued");
    const answer = await ctx.a.requestShare({
      consent_id: randomUUID(),
      recipient_ref: ctx.uniqueId("noconsent"),
    });
    checkEqual(answer.status, 404, "status of POST /v1/shares without a consent");
    checkEqual(codeOf(answer.body), "consent_not_found", "error code");
    ctx.note("404 consent_not_found");
  },
};

const MINT_PATH = "/v3/session/*/share/";

export const consentWithdrawnBeforeDispatch: Scenario = {
  name: "consent-withdrawn-before-dispatch",
  expectation:
    "a consent withdrawn while its share waits for a token cancels the share (consent_withdrawn); nothing reaches partner-b and the consent cannot be used again",
  requires: ["sandbox"],
  budgetSeconds: 60,
  async run(ctx) {
    const scope = await scopeWithTrustReview(ctx, true);
    const user = await verifiedUser(ctx);
    const consentId = await consentFor(ctx, user.userId, scope);
    // Didit refuses to mint for now, so the share waits in partner-a's outbox (retried with backoff).
    ctx.step("making Didit's share (mint) call fail with 503");
    const fault = await ctx.sandbox.addFault({ method: "POST", path: MINT_PATH, status: 503 });
    ctx.defer(() => ctx.sandbox.removeFault(fault.fault_id));
    const shareId = await acceptedShare(ctx, consentId, ctx.uniqueId("withdrawn"));
    ctx.step("waiting for partner-a's first mint attempt");
    await eventually(async () => ((await ctx.sandbox.fault(fault.fault_id))?.applied ? true : undefined), {
      timeoutMs: 15_000,
      what: "partner-a's dispatcher trying to mint the token",
      signal: ctx.signal,
    });

    ctx.step(`withdrawing consent ${consentId}`);
    const cancelledIds = (await ctx.a.withdrawConsent(consentId)).cancelled_share_ids ?? [];
    check(
      cancelledIds.includes(shareId),
      `withdrawing the consent did not cancel share ${shareId} (cancelled: ${cancelledIds.join(", ") || "none"})`,
    );
    await ctx.sandbox.removeFault(fault.fault_id);
    const cancelled = await shareReaches(ctx, shareId, "cancelled", 5_000);
    checkEqual(cancelled.reason, "consent_withdrawn", "reason of the cancelled share");

    // Past the dispatcher's next retry (1-2 s), now that Didit would mint: the share must stay cancelled.
    ctx.step("checking the share stays cancelled once Didit works again");
    await sleep(3_000, ctx.signal);
    checkEqual((await ctx.a.share(shareId)).status, "cancelled", "share status after the dispatcher's retry");
    checkEqual((await ctx.b.importsOf({ share_id: shareId })).length, 0, "partner-b's imports of the share");
    const again = await ctx.a.requestShare({
      consent_id: consentId,
      recipient_ref: ctx.uniqueId("withdrawn"),
    });
    checkEqual(again.status, 409, "status of a new share under the withdrawn consent");
    checkEqual(
      codeOf(again.body),
      "consent_withdrawn",
      "error code of a new share under the withdrawn consent",
    );
    ctx.note("cancelled (consent_withdrawn) before any token was minted; reuse refused");
  },
};

import { randomBytes, randomUUID } from "node:crypto";
import type { ErrorBody } from "../clients.js";
import {
  acceptedShare,
  checkDiditCopies,
  consentFor,
  linkCodeFor,
  scopeWithTrustReview,
  shareReaches,
  singleImportAtB,
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
    const userRef = ctx.uniqueId("unfinished");
    const consentId = await consentFor(ctx, user.userId, "kyc", { userRef });
    ctx.step("sharing the unfinished session");
    const answer = await ctx.a.requestShare({ consent_id: consentId });
    checkEqual(answer.status, 409, "status of POST /v1/shares for an unfinished session");
    checkEqual(codeOf(answer.body), "not_shareable", "error code");
    check(!answer.body.share_id, "a refused share still got a share id");
    checkEqual((await ctx.b.importsOf({ vendor_data: userRef })).length, 0, "partner-b's imports for it");
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
    const answer = await ctx.a.requestShare({ consent_id: randomUUID() });
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
    const shareId = await acceptedShare(ctx, consentId);
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
    const again = await ctx.a.requestShare({ consent_id: consentId });
    checkEqual(again.status, 409, "status of a new share under the withdrawn consent");
    checkEqual(
      codeOf(again.body),
      "consent_withdrawn",
      "error code of a new share under the withdrawn consent",
    );
    ctx.note("cancelled (consent_withdrawn) before any token was minted; reuse refused");
  },
};

export const linkCodeReused: Scenario = {
  name: "link-code-reused",
  expectation:
    "partner-b imports for the user its link code names, once: a second user of partner A consenting with the same code is rejected (link_code_used) and Didit holds one copy",
  requires: ["sandbox"],
  budgetSeconds: 60,
  async run(ctx) {
    const scope = await scopeWithTrustReview(ctx, true);
    const userRef = ctx.uniqueId("linked");
    const linkCode = await linkCodeFor(ctx, userRef);
    const owner = await verifiedUser(ctx);
    const first = await acceptedShare(ctx, await consentFor(ctx, owner.userId, scope, { linkCode }));
    await shareReaches(ctx, first, "imported");
    checkEqual((await singleImportAtB(ctx, first)).vendor_data, userRef, "partner-b's vendor_data");

    // Another of partner A's users carrying the same code: it would attach them to partner-b's userRef.
    const other = await verifiedUser(ctx);
    const second = await acceptedShare(ctx, await consentFor(ctx, other.userId, scope, { linkCode }));
    const rejected = await shareReaches(ctx, second, "rejected");
    checkEqual(rejected.import?.reason, "link_code_used", "reason partner-a was given for the second share");
    const atB = await singleImportAtB(ctx, second);
    checkEqual(atB.status, "rejected", "partner-b's record of the second share");
    check(!atB.didit, "partner-b recorded a Didit session for a refused link code");
    await checkDiditCopies(ctx, userRef, 1);
    ctx.note("second share rejected: link_code_used");
  },
};

export const wrongLinkCode: Scenario = {
  name: "wrong-link-code",
  expectation:
    "a consent carrying a link code partner-b never issued gets its share rejected (link_code_unknown): partner-b imports nothing and Didit holds no copy",
  requires: ["sandbox"],
  budgetSeconds: 60,
  async run(ctx) {
    const scope = await scopeWithTrustReview(ctx, true);
    const user = await verifiedUser(ctx);
    // Well-formed, as a user mistyping or inventing one would bring it, but never issued.
    const linkCode = randomBytes(32).toString("base64url");
    const shareId = await acceptedShare(ctx, await consentFor(ctx, user.userId, scope, { linkCode }));
    const rejected = await shareReaches(ctx, shareId, "rejected");
    checkEqual(rejected.import?.reason, "link_code_unknown", "reason partner-a was given");
    const atB = await singleImportAtB(ctx, shareId);
    checkEqual(atB.status, "rejected", "partner-b's record of the share");
    check(!atB.didit, "partner-b recorded a Didit session for a link code it never issued");
    ctx.note("rejected: link_code_unknown, nothing imported");
  },
};

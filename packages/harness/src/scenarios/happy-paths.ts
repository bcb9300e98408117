import {
  checkDiditCopies,
  scopeWithTrustReview,
  seconds,
  shareReaches,
  singleImportAtB,
  startShare,
} from "../flows.js";
import { check, checkEqual, eventually, type Scenario, type ScenarioContext } from "../scenario.js";

const AUDITED = ["share.accepted", "share.minted", "share.sent", "share.result"];

async function checkAudit(ctx: ScenarioContext, shareId: string): Promise<void> {
  const actions = await ctx.a.auditActions(shareId);
  const missing = AUDITED.filter((action) => !actions.includes(action));
  check(
    missing.length === 0,
    `partner-a's audit of share ${shareId} lacks ${missing.join(", ")} (has ${actions.join(", ")})`,
  );
}

export const happyPathTrust: Scenario = {
  name: "happy-path-trust",
  expectation:
    "under a trust_review:true policy the share is imported once at partner-b keeping A's Approved verdict; partner-a shows imported/Approved",
  requires: ["sandbox"],
  budgetSeconds: 60,
  async run(ctx) {
    const scope = await scopeWithTrustReview(ctx, true);
    const share = await startShare(ctx, { scope, label: "trust" });
    const atA = await shareReaches(ctx, share.shareId, "imported");
    checkEqual(atA.import?.session_status, "Approved", "Didit status partner-a was told");
    const atB = await singleImportAtB(ctx, share.shareId);
    checkEqual(atB.status, "imported", "partner-b's import status");
    checkEqual(atB.source, ctx.config.partnerAId, "partner-b's recorded source");
    checkEqual(atB.vendor_data, share.userRef, "partner-b's vendor_data (its link request's user_ref)");
    checkEqual(atB.policy?.trust_review, true, "trust_review partner-b applied");
    checkEqual(atB.didit?.status, "Approved", "status of partner-b's Didit copy");
    check(atB.didit?.shared_from_session, "partner-b's Didit copy does not say which session it came from");
    await checkDiditCopies(ctx, share.userRef, 1);
    await checkAudit(ctx, share.shareId);
    ctx.note(
      `imported in ${seconds(atA.created_at, atA.updated_at)?.toFixed(1)} s as Approved (scope ${scope})`,
    );
  },
};

export const happyPathReview: Scenario = {
  name: "happy-path-review",
  expectation:
    "under a trust_review:false policy the import lands In Review; partner-b's compliance approval reaches Didit, partner-b and partner-a (Approved)",
  requires: ["sandbox"],
  budgetSeconds: 90,
  async run(ctx) {
    const scope = await scopeWithTrustReview(ctx, false);
    const share = await startShare(ctx, { scope, label: "review" });
    const atA = await shareReaches(ctx, share.shareId, "imported");
    checkEqual(atA.import?.session_status, "In Review", "Didit status partner-a was told before the review");
    const atB = await singleImportAtB(ctx, share.shareId);
    checkEqual(atB.policy?.trust_review, false, "trust_review partner-b applied");
    checkEqual(atB.didit?.status, "In Review", "status of partner-b's Didit copy before the review");

    ctx.step(`approving import ${atB.import_id} at partner-b`);
    const review = await ctx.b.review(atB.import_id, "Approved");
    if (review.status !== 202) {
      throw ctx.b.api.unexpected(review, "POST", `/v1/imports/${atB.import_id}/review`, "expected 202");
    }
    let seenAtB: string | null | undefined;
    await eventually(
      async () => {
        seenAtB = (await ctx.b.importById(atB.import_id)).didit?.status;
        return seenAtB === "Approved" ? true : undefined;
      },
      {
        timeoutMs: 20_000,
        what: "Didit's webhook with the review decision at partner-b",
        signal: ctx.signal,
        lastSeen: () => String(seenAtB),
      },
    );
    let seenAtA: string | null | undefined;
    await eventually(
      async () => {
        seenAtA = (await ctx.a.share(share.shareId)).import?.session_status;
        return seenAtA === "Approved" ? true : undefined;
      },
      {
        timeoutMs: 20_000,
        what: "the refreshed result (Approved) at partner-a",
        signal: ctx.signal,
        lastSeen: () => String(seenAtA),
      },
    );
    const again = await ctx.b.review(atB.import_id, "Declined");
    checkEqual(again.status, 409, "status of a second review of the same import");
    ctx.note(`In Review → Approved by review (scope ${scope}); a second review is refused`);
  },
};

export const declinedSessionShared: Scenario = {
  name: "declined-session-shared",
  expectation:
    "a Declined verification can be shared: partner-b imports it once keeping Declined, partner-a shows imported/Declined",
  requires: ["sandbox"],
  budgetSeconds: 60,
  async run(ctx) {
    const scope = await scopeWithTrustReview(ctx, true);
    const share = await startShare(ctx, { scope, sessionStatus: "Declined", label: "declined" });
    const atA = await shareReaches(ctx, share.shareId, "imported");
    checkEqual(atA.import?.session_status, "Declined", "Didit status partner-a was told");
    const atB = await singleImportAtB(ctx, share.shareId);
    checkEqual(atB.didit?.status, "Declined", "status of partner-b's Didit copy");
    await checkDiditCopies(ctx, share.userRef, 1);
    ctx.note("imported as Declined");
  },
};

import {
  checkDiditCopies,
  issuedLink,
  scopeWithTrustReview,
  shareReaches,
  singleImportAtB,
  startShare,
} from "../flows.js";
import { check, checkEqual, eventually, type Scenario, type ScenarioContext, sleep } from "../scenario.js";

/** How many times partner-a asked Didit for a token of the share (its share.minted events). */
async function mintsOf(ctx: ScenarioContext, shareId: string): Promise<number> {
  return (await ctx.a.auditActions(shareId)).filter((action) => action === "share.minted").length;
}

/** Stops partner-b, starts a share, waits until it is sent, and withdraws its consent. */
async function shareRevokedWhilePartnerBIsDown(ctx: ScenarioContext, label: string) {
  const scope = await scopeWithTrustReview(ctx, true);
  // The user's link code comes from partner-b, so before it stops.
  const link = await issuedLink(ctx, label);
  ctx.step("stopping partner-b");
  ctx.defer(() => ctx.partnerB.ensureStarted());
  await ctx.partnerB.stop();
  const share = await startShare(ctx, { scope, link });
  await shareReaches(ctx, share.shareId, "sent");
  ctx.step(`withdrawing consent ${share.consentId} after its share left partner-a`);
  const withdrawn = await ctx.a.withdrawConsent(share.consentId);
  check(
    (withdrawn.revoked_share_ids ?? []).includes(share.shareId),
    `withdrawing the consent did not revoke sent share ${share.shareId} (revoked: ${(withdrawn.revoked_share_ids ?? []).join(", ") || "none"})`,
  );
  const revoked = await shareReaches(ctx, share.shareId, "revoked", 5_000);
  checkEqual(revoked.reason, "consent_withdrawn", "reason of the revoked share");
  return share;
}

/** Partner-b says revoked, partner-a heard it, Didit holds no copy, and one token was ever minted. */
async function checkNeverImported(ctx: ScenarioContext, share: { shareId: string; userRef: string }) {
  const atB = await singleImportAtB(ctx, share.shareId, 60_000);
  checkEqual(atB.status, "revoked", "partner-b's import status");
  checkEqual(atB.didit, null, "partner-b's Didit copy");
  await eventually(
    async () => ((await ctx.a.share(share.shareId)).import?.status === "revoked" ? true : undefined),
    { timeoutMs: 30_000, what: "partner-a hearing the revocation taken", signal: ctx.signal },
  );
  checkEqual((await ctx.a.share(share.shareId)).status, "revoked", "share status at partner-a");
  await checkDiditCopies(ctx, share.userRef, 0);
  checkEqual(await mintsOf(ctx, share.shareId), 1, "tokens partner-a minted for the share");
}

export const revokedInTransit: Scenario = {
  name: "revoked-in-transit",
  expectation:
    "a consent withdrawn after its share was sent, while partner-b is stopped, revokes the share: once partner-b starts it never imports it, both sides show revoked, Didit minted one token and holds no copy",
  requires: ["sandbox", "partner-b-control"],
  budgetSeconds: 120,
  async run(ctx) {
    const share = await shareRevokedWhilePartnerBIsDown(ctx, "revoked-transit");
    // Long enough for a reconciler pass to have re-driven the share, were it still sent.
    ctx.step("waiting while partner-b is still stopped");
    await sleep(3_000, ctx.signal);
    checkEqual(await mintsOf(ctx, share.shareId), 1, "tokens minted while partner-b was stopped");
    ctx.step("starting partner-b");
    await ctx.partnerB.start();
    await checkNeverImported(ctx, share);
    ctx.note("offer and revocation both waited in the inbox; partner-b took the revocation first");
  },
};

export const revokeBeforeOffer: Scenario = {
  name: "revoke-before-offer",
  expectation:
    "a revocation partner-b reads before its offer (the offer held back, then delivered after) leaves nothing to import: the late offer is answered revoked, no Didit copy",
  requires: ["sandbox", "partner-b-control", "channel"],
  budgetSeconds: 120,
  async run(ctx) {
    const share = await shareRevokedWhilePartnerBIsDown(ctx, "revoked-first");
    const inbox = await ctx.channel.queue(await ctx.channel.inboxOfPartnerB());
    ctx.step(`holding back offer ${share.shareId} from partner-b's inbox`);
    const job = await inbox.queue.getJob(share.shareId);
    check(
      typeof job?.data?.envelope === "string",
      `partner-b's inbox (${inbox.queue.name}) holds no offer job ${share.shareId} to hold back`,
    );
    const envelope = job.data.envelope;
    await job.remove();

    ctx.step("starting partner-b, which reads the revocation alone");
    await ctx.partnerB.start();
    await checkNeverImported(ctx, share);

    const lateId = `${share.shareId}-late`;
    ctx.step("delivering the held-back offer");
    await inbox.send(lateId, envelope);
    await eventually(
      async () => {
        const state = await inbox.queue.getJobState(lateId);
        return state === "completed" || state === "failed" ? state : undefined;
      },
      { timeoutMs: 20_000, what: "partner-b handling the late offer", signal: ctx.signal },
    );
    await checkNeverImported(ctx, share);
    ctx.note("the late offer found the revoked receipt and was answered revoked");
  },
};

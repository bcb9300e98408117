import {
  acceptedShare,
  checkDiditCopies,
  consentFor,
  scopeWithTrustReview,
  shareReaches,
  singleImportAtB,
  startShare,
  verifiedUser,
} from "../flows.js";
import { check, checkEqual, eventually, type Scenario } from "../scenario.js";

export const sameSessionSharedTwice: Scenario = {
  name: "same-session-shared-twice",
  expectation:
    "the same verified session shared twice is imported once: the first share imported, the second rejected (forbidden), Didit holds one copy",
  requires: ["sandbox"],
  budgetSeconds: 60,
  async run(ctx) {
    const scope = await scopeWithTrustReview(ctx, true);
    const user = await verifiedUser(ctx);
    const firstRef = ctx.uniqueId("twice-1");
    const first = await acceptedShare(ctx, await consentFor(ctx, user.userId, scope, { userRef: firstRef }));
    await shareReaches(ctx, first, "imported");
    const secondRef = ctx.uniqueId("twice-2");
    const second = await acceptedShare(
      ctx,
      await consentFor(ctx, user.userId, scope, { userRef: secondRef }),
    );
    const rejected = await shareReaches(ctx, second, "rejected");
    checkEqual(rejected.import?.reason, "forbidden", "reason partner-a was given for the second share");
    const atB = await singleImportAtB(ctx, second);
    checkEqual(atB.status, "rejected", "partner-b's record of the second share");
    await checkDiditCopies(ctx, firstRef, 1);
    await checkDiditCopies(ctx, secondRef, 0);
    ctx.note("second share rejected: forbidden");
  },
};

export const replayedEnvelope: Scenario = {
  name: "replayed-envelope",
  expectation:
    "an offer envelope delivered again after its import (same envelope, new job) changes nothing: one import record, one Didit copy, the share stays imported",
  requires: ["sandbox", "channel"],
  budgetSeconds: 60,
  async run(ctx) {
    const scope = await scopeWithTrustReview(ctx, true);
    const share = await startShare(ctx, { scope, label: "replay" });
    await shareReaches(ctx, share.shareId, "imported");
    const before = await singleImportAtB(ctx, share.shareId);

    const inbox = await ctx.channel.queue(await ctx.channel.inboxOfPartnerB());
    ctx.step(`reading offer ${share.shareId} from partner-b's inbox`);
    const job = await inbox.queue.getJob(share.shareId);
    check(
      typeof job?.data?.envelope === "string",
      `partner-b's inbox (${inbox.queue.name}) no longer holds offer job ${share.shareId}, so there is nothing to replay`,
    );
    const replayId = `${share.shareId}-replay`;
    ctx.step("delivering the same envelope again under a new job id");
    await inbox.send(replayId, job.data.envelope);
    let state: string | undefined;
    await eventually(
      async () => {
        state = await inbox.queue.getJobState(replayId);
        return state === "completed" || state === "failed" ? state : undefined;
      },
      {
        timeoutMs: 20_000,
        what: "partner-b handling the replayed envelope",
        signal: ctx.signal,
        lastSeen: () => state,
      },
    );

    const after = await singleImportAtB(ctx, share.shareId);
    checkEqual(after.import_id, before.import_id, "partner-b's import record after the replay");
    checkEqual(after.status, "imported", "partner-b's import status after the replay");
    checkEqual(after.didit?.session_id, before.didit?.session_id, "partner-b's Didit copy after the replay");
    await checkDiditCopies(ctx, share.userRef, 1);
    checkEqual(
      (await ctx.a.share(share.shareId)).status,
      "imported",
      "share status at partner-a after the replay",
    );
    ctx.note(`replay handled (job ${state}), still one import`);
  },
};

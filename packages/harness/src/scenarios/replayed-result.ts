import type { ShareView } from "../clients.js";
import { scopeWithTrustReview, shareReaches, singleImportAtB, startShare } from "../flows.js";
import { check, checkEqual, eventually, type Scenario, type ScenarioContext } from "../scenario.js";

/** Approves an import that landed In Review at partner-b and waits until partner-a shows Approved. */
async function approvedByReview(ctx: ScenarioContext, shareId: string): Promise<ShareView> {
  const atB = await singleImportAtB(ctx, shareId);
  ctx.step(`approving import ${atB.import_id} at partner-b`);
  const review = await ctx.b.review(atB.import_id, "Approved");
  if (review.status !== 202) {
    throw ctx.b.api.unexpected(review, "POST", `/v1/imports/${atB.import_id}/review`, "expected 202");
  }
  let seen: ShareView | undefined;
  return eventually(
    async () => {
      seen = await ctx.a.share(shareId);
      return seen.import?.session_status === "Approved" ? seen : undefined;
    },
    {
      timeoutMs: 30_000,
      what: "the refreshed result (Approved) at partner-a",
      signal: ctx.signal,
      lastSeen: () => String(seen?.import?.session_status),
    },
  );
}

export const replayedResult: Scenario = {
  name: "replayed-result",
  expectation:
    "partner-b's first result (In Review), replayed from partner-a's results queue after the review's Approved, is refused: partner-a's share does not move and the refusal is audited",
  requires: ["sandbox", "channel"],
  budgetSeconds: 90,
  async run(ctx) {
    const scope = await scopeWithTrustReview(ctx, false);
    const share = await startShare(ctx, { scope, label: "result-replay" });
    const imported = await shareReaches(ctx, share.shareId, "imported");
    checkEqual(imported.import?.session_status, "In Review", "Didit status partner-a was told first");
    const before = await approvedByReview(ctx, share.shareId);

    // The first result's job id is the share id; Redis keeps completed jobs, envelope included.
    const results = await ctx.channel.queue(await ctx.channel.resultsOfPartnerA());
    ctx.step(`reading the first result of share ${share.shareId} from partner-a's results queue`);
    const job = await results.queue.getJob(share.shareId);
    check(
      typeof job?.data?.envelope === "string",
      `partner-a's results queue (${results.queue.name}) no longer holds result job ${share.shareId}, so there is nothing to replay`,
    );
    const replayId = `${share.shareId}-result-replay`;
    ctx.step("adding the first result again under a new job id");
    await results.send(replayId, job.data.envelope);
    let state: string | undefined;
    await eventually(
      async () => {
        state = await results.queue.getJobState(replayId);
        return state === "completed" || state === "failed" ? state : undefined;
      },
      {
        timeoutMs: 20_000,
        what: "partner-a handling the replayed result",
        signal: ctx.signal,
        lastSeen: () => state,
      },
    );
    checkEqual(state, "completed", "state of the replayed result's job (a refusal is not retried)");
    let actions: string[] = [];
    await eventually(
      async () => {
        actions = await ctx.a.auditActions(share.shareId);
        return actions.includes("share.result_replayed") ? true : undefined;
      },
      {
        timeoutMs: 10_000,
        what: "share.result_replayed in partner-a's audit",
        signal: ctx.signal,
        lastSeen: () => actions.join(", "),
      },
    );

    const after = await ctx.a.share(share.shareId);
    checkEqual(after.status, before.status, "share status at partner-a after the replay");
    checkEqual(
      after.import?.session_status,
      "Approved",
      "Didit status at partner-a after the replay (In Review would be a rollback)",
    );
    checkEqual(after.updated_at, before.updated_at, "last change of the share at partner-a after the replay");
    ctx.note("the replayed In Review result was refused; the share stays Approved");
  },
};

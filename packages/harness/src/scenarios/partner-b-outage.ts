import {
  checkDiditCopies,
  issuedLink,
  scopeWithTrustReview,
  shareReaches,
  singleImportAtB,
  startShare,
} from "../flows.js";
import { check, checkEqual, type Scenario } from "../scenario.js";

const BACKLOG = 5;
const WAITING_STATES = ["waiting", "delayed", "prioritized", "waiting-children"];

export const partnerBBacklog: Scenario = {
  name: "partner-b-backlog",
  expectation: `${BACKLOG} shares sent while partner-b is stopped wait in its inbox; once it starts the backlog drains: every share imported exactly once, nothing lost`,
  requires: ["sandbox", "partner-b-control"],
  budgetSeconds: 150,
  async run(ctx) {
    const scope = await scopeWithTrustReview(ctx, true);
    // The users' link codes come from partner-b, so before it stops.
    const links = [];
    for (let i = 0; i < BACKLOG; i += 1) links.push(await issuedLink(ctx, `backlog-${i}`));
    ctx.step("stopping partner-b");
    ctx.defer(() => ctx.partnerB.ensureStarted());
    await ctx.partnerB.stop();
    const shares = [];
    for (const link of links) shares.push(await startShare(ctx, { scope, link }));
    for (const share of shares) await shareReaches(ctx, share.shareId, "sent");
    if (ctx.config.redisUrl) {
      const inbox = await ctx.channel.queue(await ctx.channel.inboxOfPartnerB());
      for (const share of shares) {
        const state = await inbox.queue.getJobState(share.shareId);
        check(
          WAITING_STATES.includes(state),
          `offer ${share.shareId} is "${state}" in ${inbox.queue.name} while partner-b is stopped; expected it waiting`,
        );
      }
    }
    ctx.step("starting partner-b");
    const starting = Date.now();
    await ctx.partnerB.start();
    const ready = Date.now();
    for (const share of shares) await shareReaches(ctx, share.shareId, "imported", 60_000);
    const drained = (Date.now() - ready) / 1000;
    for (const share of shares) {
      checkEqual(
        (await singleImportAtB(ctx, share.shareId)).status,
        "imported",
        `partner-b's import of ${share.shareId}`,
      );
      await checkDiditCopies(ctx, share.userRef, 1);
    }
    ctx.note(
      `${BACKLOG} offers waited in the inbox; partner-b ready in ${((ready - starting) / 1000).toFixed(1)} s, all imported once ${drained.toFixed(1)} s later`,
    );
  },
};

/** Reasons partner-b may give for a token that expired on the way (early check, Didit's 401, or retries ran out). */
const EXPIRY_REASONS = ["token_expired_or_invalid", "token_expired", "expired_in_transit"];

export const tokenExpiredInTransit: Scenario = {
  name: "token-expired-in-transit",
  expectation:
    "a share whose token expires while partner-b is stopped (sandbox clock moved past its expiry) is rejected, partner-a shows rejected, Didit holds no copy",
  requires: ["sandbox", "partner-b-control"],
  budgetSeconds: 120,
  movesSandboxClock: true,
  async run(ctx) {
    const scope = await scopeWithTrustReview(ctx, true);
    const link = await issuedLink(ctx, "expired");
    ctx.step("stopping partner-b");
    ctx.defer(() => ctx.partnerB.ensureStarted());
    await ctx.partnerB.stop();
    const share = await startShare(ctx, { scope, link });
    const sent = await shareReaches(ctx, share.shareId, "sent");
    check(sent.expires_at, `partner-a shows no token expiry for sent share ${share.shareId}`);

    ctx.step("moving the sandbox clock past the token's expiry");
    const clock = await ctx.sandbox.clock();
    const advance = Math.ceil((Date.parse(sent.expires_at) - clock.now_epoch_seconds * 1000) / 1000) + 60;
    // Registered before moving: the clock must come back even if the move half-fails.
    ctx.defer(() => ctx.sandbox.resetClock());
    await ctx.sandbox.advanceClock(Math.max(advance, 60));

    ctx.step("starting partner-b");
    await ctx.partnerB.start();
    const rejected = await shareReaches(ctx, share.shareId, "rejected", 60_000);
    const reason = rejected.import?.reason ?? rejected.reason ?? "";
    check(
      EXPIRY_REASONS.includes(reason),
      `share ${share.shareId} was rejected for "${reason}", expected one of ${EXPIRY_REASONS.join(", ")}`,
    );
    const atB = await singleImportAtB(ctx, share.shareId);
    checkEqual(atB.status, "rejected", "partner-b's import status");
    await checkDiditCopies(ctx, share.userRef, 0);
    ctx.note(`rejected: ${reason} (clock moved ${advance} s, then put back)`);
  },
};

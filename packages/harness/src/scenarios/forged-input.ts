import { randomBytes, randomUUID } from "node:crypto";
import type { DeadLetterJobData, ShareOfferPayload } from "@share-broker/channel";
import { decodeShareTokenClaims, signWebhook } from "@share-broker/didit";
import type { ErrorBody } from "../clients.js";
import { checkDiditCopies, finishedImportsAtB, linkCodeFor, unfinishedUser, verifiedUser } from "../flows.js";
import {
  check,
  checkEqual,
  eventually,
  type Scenario,
  type ScenarioContext,
  ScenarioSkipped,
} from "../scenario.js";

/** A share token minted with partner A's own Didit key for `forApplicationId`, from a fresh verified user. */
async function mintedToken(ctx: ScenarioContext, forApplicationId: string) {
  const user = await verifiedUser(ctx);
  ctx.step(`minting a share token for application ${forApplicationId} with partner A's Didit key`);
  const { share_token: token } = await ctx.didit
    .partnerA()
    .shareSession(user.sessionId, { for_application_id: forApplicationId, ttl_in_seconds: 900 });
  const claims = decodeShareTokenClaims(token);
  const expiresAt = claims.ok ? new Date(claims.claims.exp * 1000) : new Date(Date.now() + 900_000);
  return { token, expiresAt };
}

function offerPayload(
  ctx: ScenarioContext,
  token: string,
  expiresAt: Date,
  linkCode: string,
): ShareOfferPayload {
  return {
    share_token: token,
    session_kind: "user",
    purpose: "onboarding",
    scope: "kyc",
    consent_id: randomUUID(),
    link_code: linkCode,
    user_pseudonym: `u_${ctx.uniqueId("pseudonym")}`,
    token_expires_at: expiresAt.toISOString(),
  };
}

/** Changes one character in the middle of the JWE ciphertext (segment 4 of 5). */
function tamper(envelope: string): string {
  const parts = envelope.split(".");
  const ciphertext = parts[3] ?? "";
  const at = Math.floor(ciphertext.length / 2);
  const replacement = ciphertext[at] === "A" ? "B" : "A";
  parts[3] = `${ciphertext.slice(0, at)}${replacement}${ciphertext.slice(at + 1)}`;
  return parts.join(".");
}

const REFUSED_ENVELOPE = ["undecryptable", "bad_signature", "malformed"];

export const tamperedEnvelope: Scenario = {
  name: "tampered-envelope",
  expectation:
    "an offer sealed by partner A whose ciphertext was altered on the way is dead-lettered by partner-b and imports nothing",
  requires: ["channel", "act-as-partner-a"],
  budgetSeconds: 60,
  async run(ctx) {
    const registry = await ctx.channel.registry();
    const partnerB = registry.get(ctx.config.partnerBId);
    // A genuine token when partner A's Didit key is at hand, so only the tampering can stop the import.
    const genuine = Boolean(
      ctx.config.partnerADiditKey && ctx.config.sandboxUrl && ctx.config.sandboxControlKey,
    );
    const { token, expiresAt } = genuine
      ? await mintedToken(ctx, partnerB.diditApplicationId)
      : { token: "eyJhbGciOiJIUzI1NiJ9.e30.c2ln", expiresAt: new Date(Date.now() + 600_000) };
    const shareId = randomUUID();
    const userRef = ctx.uniqueId("tampered");
    const linkCode = await linkCodeFor(ctx, userRef);
    ctx.step("sealing an offer as partner A and altering its ciphertext");
    const envelope = await ctx.channel.sealAsPartnerA({
      to: ctx.config.partnerBId,
      typ: "share-offer",
      jti: shareId,
      expiresAt,
      payload: offerPayload(ctx, token, expiresAt, linkCode),
    });
    const inbox = await ctx.channel.queue(partnerB.inboxQueue);
    await inbox.send(shareId, tamper(envelope));

    const dead = await ctx.channel.queue(await ctx.channel.deadLetterOfPartnerB());
    ctx.step(`waiting for partner-b to dead-letter ${shareId} on ${dead.queue.name}`);
    const deadJob = await eventually(async () => (await dead.queue.getJob(shareId)) ?? undefined, {
      timeoutMs: 20_000,
      what: `the tampered offer on ${dead.queue.name}`,
      signal: ctx.signal,
    });
    const reason = String((deadJob.data as Partial<DeadLetterJobData>).reason);
    check(
      REFUSED_ENVELOPE.includes(reason),
      `dead-letter reason "${reason}", expected one of ${REFUSED_ENVELOPE.join(", ")}`,
    );
    checkEqual(
      (await ctx.b.importsOf({ share_id: shareId })).length,
      0,
      "partner-b's import records of the offer",
    );
    if (genuine) await checkDiditCopies(ctx, userRef, 0);
    ctx.note(`dead-lettered: ${reason}${genuine ? " (genuine token inside)" : ""}`);
  },
};

export const tokenForAnotherApplication: Scenario = {
  name: "token-for-another-application",
  expectation:
    "a properly sealed offer whose share token is addressed to a third application is rejected by partner-b (token_for_another_application), with no Didit import",
  requires: ["sandbox", "channel", "act-as-partner-a", "partner-a-didit", "third-application"],
  budgetSeconds: 60,
  async run(ctx) {
    const registry = await ctx.channel.registry();
    const partnerB = registry.get(ctx.config.partnerBId);
    const third = ctx.config.thirdApplicationId as string;
    const own = [registry.get(ctx.config.partnerAId).diditApplicationId, partnerB.diditApplicationId];
    if (own.some((id) => id.toLowerCase() === third.toLowerCase())) {
      throw new ScenarioSkipped(
        "THIRD_APPLICATION_ID is partner A's or partner B's application; it must be another one",
      );
    }
    const { token, expiresAt } = await mintedToken(ctx, third);
    const shareId = randomUUID();
    const userRef = ctx.uniqueId("elsewhere");
    const linkCode = await linkCodeFor(ctx, userRef);
    ctx.step("sealing the offer as partner A and delivering it to partner-b's inbox");
    const envelope = await ctx.channel.sealAsPartnerA({
      to: ctx.config.partnerBId,
      typ: "share-offer",
      jti: shareId,
      expiresAt,
      payload: offerPayload(ctx, token, expiresAt, linkCode),
    });
    const inbox = await ctx.channel.queue(partnerB.inboxQueue);
    await inbox.send(shareId, envelope);
    const [record, ...more] = await finishedImportsAtB(ctx, shareId, 20_000);
    checkEqual(more.length, 0, "extra import records of the offer");
    checkEqual(record?.status, "rejected", "partner-b's import status");
    checkEqual(record?.reason, "token_for_another_application", "partner-b's rejection reason");
    check(!record?.didit, "partner-b recorded a Didit session for a token addressed elsewhere");
    await checkDiditCopies(ctx, userRef, 0);
    ctx.note("rejected: token_for_another_application");
  },
};

export const webhookBadSignature: Scenario = {
  name: "webhook-bad-signature",
  expectation:
    "a Didit webhook signed with the wrong secret (or unsigned) is refused 401 invalid_signature by both partners and changes nothing",
  requires: [],
  budgetSeconds: 30,
  async run(ctx) {
    const user = await unfinishedUser(ctx);
    const now = Math.floor(Date.now() / 1000);
    const event = {
      event_id: randomUUID(),
      webhook_type: "status.updated",
      created_at: now,
      timestamp: now,
      environment: "live",
      session_id: user.sessionId,
      status: "Approved",
      vendor_data: user.userId,
      metadata: null,
    };
    const forged = signWebhook(event, `not-the-secret-${randomBytes(12).toString("hex")}`);
    const attempts = [
      { to: "partner-a", post: () => ctx.a.postWebhook(forged.rawBody, { ...forged.headers }) },
      { to: "partner-b", post: () => ctx.b.postWebhook(forged.rawBody, { ...forged.headers }) },
      { to: "partner-a (unsigned)", post: () => ctx.a.postWebhook(forged.rawBody, {}) },
    ];
    for (const attempt of attempts) {
      ctx.step(`posting a badly signed webhook to ${attempt.to}`);
      const answer = await attempt.post();
      checkEqual(answer.status, 401, `${attempt.to}'s answer to a badly signed webhook`);
      checkEqual((answer.body as ErrorBody).error?.code, "invalid_signature", `${attempt.to}'s error code`);
    }
    const after = await ctx.a.verificationOf(user.userId);
    check(
      after.body.status !== "Approved",
      `partner-a applied the forged webhook: ${user.userId}'s session is now ${after.body.status}`,
    );
    ctx.note(`refused by both partners; session still ${after.body.status}`);
  },
};

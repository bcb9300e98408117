import { randomUUID } from "node:crypto";
import type { ImportedCopy, ReceivedOffer } from "../../src/imports/import-store.js";

/** Whole seconds: timestamps round-trip through Postgres and JSON without a fraction to compare. */
const wholeSeconds = (ms: number) => new Date(Math.floor(ms / 1000) * 1000);

/** A verified offer as the inbox consumer hands it to the store: fresh ids, a token valid 15 min. */
export function offerOf(overrides: Partial<ReceivedOffer> = {}): ReceivedOffer {
  return {
    sourcePartner: "partner-a",
    shareId: randomUUID(),
    userPseudonym: `pseudo-${randomUUID()}`,
    purpose: "onboarding",
    scope: "kyc",
    consentId: randomUUID(),
    recipientRef: null,
    sessionKind: "user",
    tokenHash: "b".repeat(64),
    tokenId: `tok-${randomUUID().slice(0, 8)}`,
    tokenExpiresAt: wholeSeconds(Date.now() + 900_000),
    claimedSourceSession: randomUUID(),
    ...overrides,
  };
}

/** Didit's copy of `offer`'s session in partner-b's application, as the import call returns it. */
export function copyOf(offer: ReceivedOffer, status = "Approved"): ImportedCopy {
  return {
    sessionId: randomUUID(),
    status,
    statusAt: wholeSeconds(Date.now()),
    sharedFromSession: offer.claimedSourceSession,
  };
}

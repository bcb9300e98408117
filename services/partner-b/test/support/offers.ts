import { randomUUID } from "node:crypto";
import type { ImportedCopy, ReceivedOffer } from "../../src/imports/import-store.js";
import { linkCodeHash, newLinkCode } from "../../src/links/link-codes.js";

/**
 * Open link codes partner-b issued, for the offers below: seedLinkCodes() inserts them into the
 * test's database ahead of time, so that receiving an offer costs exactly the statements it costs
 * in production (no link request written on the side while statements are counted).
 */
const linkCodes: string[] = [];

/** Issues `count` open link requests in partner-b's database (valid an hour), one statement. */
export async function seedLinkCodes(
  query: (text: string, values: unknown[]) => Promise<unknown>,
  count = 2000,
): Promise<void> {
  const codes = Array.from({ length: count }, () => newLinkCode());
  await query(
    `insert into link_requests (link_id, user_ref, code_hash, expires_at)
     select gen_random_uuid(), 'ref-' || left(h, 16), h, now() + interval '1 hour'
     from unnest($1::text[]) as h`,
    [codes.map(linkCodeHash)],
  );
  linkCodes.push(...codes);
}

/** An open link code not used by any offer yet. */
export function nextLinkCode(): string {
  const code = linkCodes.shift();
  if (code === undefined) throw new Error("no seeded link code left: call seedLinkCodes first");
  return code;
}

/** The user_ref of the link request a seeded offer's code belongs to: its vendor_data once received. */
export function userRefOf(offer: Pick<ReceivedOffer, "linkCodeHash">): string {
  return `ref-${offer.linkCodeHash.slice(0, 16)}`;
}

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
    linkCodeHash: linkCodeHash(nextLinkCode()),
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

import { z } from "zod";

/**
 * Link requests: partner-b binds an incoming share to one of its own users. partner-b issues a
 * single-use code for its user, the user carries it to partner-a, partner-a carries it in the
 * share offer, and partner-b imports only for the user its own link request names.
 */

/** Longest a link code may live, in seconds; LINK_REQUEST_TTL_SECONDS may only shorten it. */
export const MAX_LINK_REQUEST_SECONDS = 30 * 60;

/** A link code as issued: 32 random bytes, base64url (43 characters). Accepted: 16–256 URL-safe characters. */
export const linkCodeSchema = z
  .string()
  .min(16)
  .max(256)
  .regex(/^[A-Za-z0-9_-]+$/, "URL-safe characters only (A–Z a–z 0–9 _ -)")
  .describe("The single-use code partner-b issued for the user (POST /v1/link-requests at partner-b).");

export const LINK_REQUEST_STATES = ["open", "used", "expired"] as const;
export type LinkRequestState = (typeof LINK_REQUEST_STATES)[number];

/**
 * Why partner-b refused an offer's link code. They travel as the import's rejection reason to the
 * sharer, whose share ends `rejected` with it. A code restricted to another source is `unknown`
 * to this one: its existence is not revealed.
 */
export const LINK_CODE_REFUSALS = {
  unknown: "link_code_unknown",
  expired: "link_code_expired",
  used: "link_code_used",
} as const;
export type LinkCodeRefusal = (typeof LINK_CODE_REFUSALS)[keyof typeof LINK_CODE_REFUSALS];

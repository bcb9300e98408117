import type { Scenario } from "../scenario.js";
import { didit429RetryAfter, didit503Recovery } from "./didit-faults.js";
import { replayedEnvelope, sameSessionSharedTwice } from "./duplicates.js";
import { tamperedEnvelope, tokenForAnotherApplication, webhookBadSignature } from "./forged-input.js";
import { declinedSessionShared, happyPathReview, happyPathTrust } from "./happy-paths.js";
import { partnerBBacklog, tokenExpiredInTransit } from "./partner-b-outage.js";
import {
  consentWithdrawnBeforeDispatch,
  linkCodeReused,
  noConsent,
  unfinishedSessionRefused,
  wrongLinkCode,
} from "./refusals.js";
import { replayedResult } from "./replayed-result.js";
import { revokeBeforeOffer, revokedInTransit } from "./revocations.js";

/**
 * Every scenario, in the order they run. Scenarios run one at a time (the sandbox's faults and
 * clock are global); those that move the sandbox clock come last.
 */
export const SCENARIOS: readonly Scenario[] = [
  happyPathTrust,
  happyPathReview,
  declinedSessionShared,
  unfinishedSessionRefused,
  noConsent,
  consentWithdrawnBeforeDispatch,
  linkCodeReused,
  wrongLinkCode,
  sameSessionSharedTwice,
  webhookBadSignature,
  tamperedEnvelope,
  replayedEnvelope,
  replayedResult,
  tokenForAnotherApplication,
  didit503Recovery,
  didit429RetryAfter,
  partnerBBacklog,
  revokedInTransit,
  revokeBeforeOffer,
  tokenExpiredInTransit,
];

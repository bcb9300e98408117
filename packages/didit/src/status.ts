/**
 * Session statuses exactly as Didit's JSON carries them: Title Case with spaces, case-sensitive.
 * Some Didit pages write upper-snake names (`IN_REVIEW`, `KYC_EXPIRED`); those never appear on the wire,
 * so comparing against them would silently never match (docs/DIDIT.md#session-statuses).
 */
export const SessionStatus = {
  NotStarted: "Not Started",
  InProgress: "In Progress",
  Approved: "Approved",
  Declined: "Declined",
  InReview: "In Review",
  AwaitingUser: "Awaiting User",
  Resubmitted: "Resubmitted",
  Expired: "Expired",
  Abandoned: "Abandoned",
  // Capital K only: Didit never sends "KYC Expired".
  KycExpired: "Kyc Expired",
} as const;

export type SessionStatus = (typeof SessionStatus)[keyof typeof SessionStatus];

export const SESSION_STATUSES: readonly SessionStatus[] = Object.freeze(Object.values(SessionStatus));

/** A finished session carries a verdict (or awaits a human one) and is the only kind Didit lets you share. */
export type FinishedStatus = "Approved" | "Declined" | "In Review";

/**
 * Unfinished statuses that `POST /v3/session/` hands back again for the same `vendor_data` (the reuse rule,
 * docs/DIDIT.md#create-session).
 */
export type ReusableByCreateStatus = "Not Started" | "In Progress" | "Awaiting User" | "Resubmitted";

/**
 * Targets update-status accepts (docs/DIDIT.md#decision-update-status-list-delete); Didit's prose also
 * names In Review, its explicit enum does not.
 */
export type UpdatableSessionStatus = "Approved" | "Declined" | "Resubmitted";

/** The finished statuses: the only ones Didit's share endpoint accepts (docs/DIDIT.md#share-a-session). */
export const SHAREABLE_STATUSES: readonly FinishedStatus[] = Object.freeze([
  "Approved",
  "Declined",
  "In Review",
]);
const finished: ReadonlySet<string> = new Set<FinishedStatus>(SHAREABLE_STATUSES);
const reusableByCreate: ReadonlySet<string> = new Set<ReusableByCreateStatus>([
  "Not Started",
  "In Progress",
  "Awaiting User",
  "Resubmitted",
]);
const known: ReadonlySet<string> = new Set(SESSION_STATUSES);

export function isSessionStatus(value: unknown): value is SessionStatus {
  return typeof value === "string" && known.has(value);
}

export function isFinished(status: string): status is FinishedStatus {
  return finished.has(status);
}

/** Didit's share endpoint accepts exactly the finished statuses (docs/DIDIT.md#share-a-session). */
export function isShareable(status: string): status is FinishedStatus {
  return isFinished(status);
}

/** Whether a create call with the same `vendor_data` would return this session instead of a new one. */
export function isReusableByCreate(status: string): status is ReusableByCreateStatus {
  return reusableByCreate.has(status);
}

/**
 * Session statuses exactly as Didit's JSON carries them: Title Case with spaces, case-sensitive.
 * Some Didit pages write upper-snake names (`IN_REVIEW`, `KYC_EXPIRED`); those never appear on the wire,
 * so comparing against them would silently never match (API.md §6, §9.8).
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

/** Unfinished statuses that `POST /v3/session/` hands back again for the same `vendor_data` (§1 reuse rule). */
export type ReusableByCreateStatus = "Not Started" | "In Progress" | "Awaiting User" | "Resubmitted";

/** Targets update-status accepts (§4.2); the prose also names In Review, the explicit enum does not. */
export type UpdatableSessionStatus = "Approved" | "Declined" | "Resubmitted";

/** The finished statuses: the only ones Didit's share endpoint accepts (§2 precondition). */
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

/** Didit's share endpoint accepts exactly the finished statuses (§2 precondition). */
export function isShareable(status: string): status is FinishedStatus {
  return isFinished(status);
}

/** Whether a create call with the same `vendor_data` would return this session instead of a new one. */
export function isReusableByCreate(status: string): status is ReusableByCreateStatus {
  return reusableByCreate.has(status);
}

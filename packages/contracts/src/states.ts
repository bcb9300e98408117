/**
 * The share (partner-a) and import (partner-b) state machines. The database CHECK constraints,
 * the API enums, the console and the harness all read these lists; nothing else spells a state.
 */

export const SHARE_STATES = [
  "accepted",
  "minted",
  "sent",
  "imported",
  "rejected",
  "expired",
  "failed",
  "cancelled",
  "revoked",
] as const;
export type ShareState = (typeof SHARE_STATES)[number];

/** A share that may still be minted, sent, or hear its import result. */
export const OPEN_SHARE_STATES = ["accepted", "minted", "sent"] as const satisfies readonly ShareState[];
/** A share whose token has not left partner-a: withdrawing consent cancels it outright. */
export const CANCELLABLE_SHARE_STATES = ["accepted", "minted"] as const satisfies readonly ShareState[];
export const TERMINAL_SHARE_STATES = [
  "imported",
  "rejected",
  "expired",
  "failed",
  "cancelled",
  "revoked",
] as const satisfies readonly ShareState[];

/**
 * Every status change the code makes. A result re-applied to the state it already put the share
 * in (a review changed the imported session's status) refreshes the row without a transition.
 */
export const SHARE_TRANSITIONS = {
  accepted: ["minted", "failed", "cancelled", "imported", "rejected"],
  minted: ["sent", "failed", "cancelled", "imported", "rejected"],
  // A result arrives for a sent share; with none before the token's grace period ends, it expires.
  // Its consent withdrawn or expired, a sent share is revoked: partner-b is told not to import it.
  sent: ["imported", "rejected", "failed", "expired", "revoked"],
  // A late "imported" still wins: the import happened at partner-b (before any revocation reached it).
  expired: ["imported", "revoked"],
  imported: [],
  rejected: [],
  failed: [],
  cancelled: [],
  revoked: ["imported"],
} as const satisfies Record<ShareState, readonly ShareState[]>;

export const IMPORT_STATES = ["received", "importing", "imported", "rejected", "failed", "revoked"] as const;
export type ImportState = (typeof IMPORT_STATES)[number];

/** An import that still owns its share token and may still call Didit. */
export const OPEN_IMPORT_STATES = ["received", "importing"] as const satisfies readonly ImportState[];
export const TERMINAL_IMPORT_STATES = [
  "imported",
  "rejected",
  "failed",
  "revoked",
] as const satisfies readonly ImportState[];

export const IMPORT_TRANSITIONS = {
  // The sharer's revocation closes an import that has not finished; a revocation that arrives
  // before its offer leaves a revoked receipt the offer then finds.
  received: ["importing", "rejected", "failed", "revoked"],
  // A retryable Didit failure leaves the import importing with a later attempt.
  importing: ["imported", "rejected", "failed", "revoked"],
  imported: [],
  rejected: [],
  failed: [],
  revoked: [],
} as const satisfies Record<ImportState, readonly ImportState[]>;

export function isOpenShareState(status: string): boolean {
  return (OPEN_SHARE_STATES as readonly string[]).includes(status);
}

export function isTerminalShareState(status: string): boolean {
  return (TERMINAL_SHARE_STATES as readonly string[]).includes(status);
}

export function isTerminalImportState(status: string): boolean {
  return (TERMINAL_IMPORT_STATES as readonly string[]).includes(status);
}

export function canTransition<S extends string>(machine: Record<S, readonly S[]>, from: S, to: S): boolean {
  return machine[from].includes(to);
}

import { describe, expect, it } from "vitest";
import {
  isFinished,
  isReusableByCreate,
  isSessionStatus,
  isShareable,
  SESSION_STATUSES,
  SessionStatus,
} from "../src/index.js";

// docs/DIDIT.md#session-statuses, one row per status: [status, finished and shareable, reusable by create].
const table: [string, boolean, boolean][] = [
  ["Not Started", false, true],
  ["In Progress", false, true],
  ["Approved", true, false],
  ["Declined", true, false],
  ["In Review", true, false],
  ["Awaiting User", false, true],
  ["Resubmitted", false, true],
  ["Expired", false, false],
  ["Abandoned", false, false],
  ["Kyc Expired", false, false],
];

describe("session status", () => {
  it("lists exactly Didit's ten Title Case spellings", () => {
    expect([...SESSION_STATUSES].sort()).toEqual(table.map(([status]) => status).sort());
    expect(SessionStatus.KycExpired).toBe("Kyc Expired");
    expect(SessionStatus.InReview).toBe("In Review");
  });

  it.each(table)("%s: finished and shareable = %s, reusable by create = %s", (status, finished, reusable) => {
    expect(isSessionStatus(status)).toBe(true);
    expect(isFinished(status)).toBe(finished);
    expect(isShareable(status)).toBe(finished);
    expect(isReusableByCreate(status)).toBe(reusable);
  });

  it.each([
    "IN_REVIEW",
    "KYC Expired",
    "KYC_EXPIRED",
    "approved",
    "In review",
    "Not Finished",
    "",
    " Approved",
  ])("rejects %j, which Didit never sends as a session status", (spelling) => {
    expect(isSessionStatus(spelling)).toBe(false);
    expect(isFinished(spelling)).toBe(false);
    expect(isReusableByCreate(spelling)).toBe(false);
  });

  it("rejects non-strings", () => {
    expect(isSessionStatus(undefined)).toBe(false);
    expect(isSessionStatus(null)).toBe(false);
    expect(isSessionStatus(1)).toBe(false);
  });
});

import { describe, expect, it } from "vitest";
import { Pseudonymizer } from "../src/audit/pseudonym.js";

describe("what each partner sees of a user", () => {
  const pseudonyms = new Pseudonymizer("pseudonym-test-secret");

  it("is one stable pseudonym per audience, none equal to another's or to partner-a's audit one", () => {
    const forB = pseudonyms.forAudience("partner-b", "user-1");
    const forC = pseudonyms.forAudience("partner-c", "user-1");
    expect(new Set([forB, forC, pseudonyms.of("user-1")]).size).toBe(3);
    expect(pseudonyms.forAudience("partner-b", "user-1")).toBe(forB);
    expect(new Pseudonymizer("pseudonym-test-secret").forAudience("partner-b", "user-1")).toBe(forB);
    expect(pseudonyms.forAudience("partner-b", "user-2")).not.toBe(forB);
    // Without the secret the pseudonym cannot be recomputed.
    expect(new Pseudonymizer("another-secret").forAudience("partner-b", "user-1")).not.toBe(forB);
  });
});

import { afterEach, describe, expect, it } from "vitest";
import { generatePartnerKeys } from "../src/index.js";
import { importKeyHandle, keyObjectOf, toPublicJwk } from "../src/jwk.js";

// A file of its own: Node prints each deprecation once per process, so an earlier conversion in the
// same worker would hide the warning from this test.
const warnings: Error[] = [];
const collect = (warning: Error) => warnings.push(warning);
process.on("warning", collect);
afterEach(() => {
  warnings.length = 0;
});

describe("keyObjectOf", () => {
  it("converts imported private and public keys without Node's DEP0204 deprecation", async () => {
    const keys = await generatePartnerKeys("partner-x");
    for (const jwk of [
      keys.signing,
      keys.encryption,
      toPublicJwk(keys.signing),
      toPublicJwk(keys.encryption),
    ]) {
      const object = keyObjectOf((await importKeyHandle(jwk)).key);
      expect(object.asymmetricKeyType).toBe(jwk.crv === "Ed25519" ? "ed25519" : "x25519");
      expect(object.type).toBe("d" in jwk ? "private" : "public");
    }
    // Warnings are emitted on a later tick.
    await new Promise((resolve) => setImmediate(resolve));
    expect(warnings.map((warning) => `${warning.name}: ${warning.message}`)).toEqual([]);
  });
});

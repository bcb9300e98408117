import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { parseEnv } from "node:util";
import { describe, expect, it } from "vitest";
import { readPrincipalsFile } from "../../packages/service-kit/src/principals-file.js";
import { loadStackConfig } from "../../scripts/stack/config.js";

const ROOT = join(import.meta.dirname, "..", "..");
const devKeys = JSON.parse(readFileSync(join(ROOT, "infra/dev/api-keys.json"), "utf8")) as Record<
  "partner-a" | "partner-b",
  { operator: string; console: string }
>;
const consoleEnv = parseEnv(readFileSync(join(ROOT, "infra/dev/console.env"), "utf8"));
const sha256 = (key: string) => createHash("sha256").update(key, "utf8").digest("hex");

describe("development principals", () => {
  for (const partner of ["partner-a", "partner-b"] as const) {
    it(`${partner}: an admin operator and a read-only console, matching the plain dev keys`, () => {
      const principals = readPrincipalsFile(join(ROOT, `infra/dev/${partner}-principals.json`));
      const byName = Object.fromEntries(principals.map((p) => [p.name, p]));
      expect(byName.operator?.scopes).toEqual(["admin"]);
      expect(byName.operator?.keySha256).toBe(sha256(devKeys[partner].operator));
      expect(byName.console?.scopes).toEqual(["shares:read", "imports:read", "audit:read"]);
      expect(byName.console?.keySha256).toBe(sha256(devKeys[partner].console));
    });
  }

  it("gives the console its read-only keys, in its env file and in the stack", () => {
    expect(consoleEnv.PARTNER_A_API_KEY).toBe(devKeys["partner-a"].console);
    expect(consoleEnv.PARTNER_B_API_KEY).toBe(devKeys["partner-b"].console);
    const stack = loadStackConfig(ROOT, {});
    expect(stack.console.env.PARTNER_A_API_KEY).toBe(devKeys["partner-a"].console);
    expect(stack.console.env.PARTNER_B_API_KEY).toBe(devKeys["partner-b"].console);
    expect(stack.keys.partnerA).toBe(devKeys["partner-a"].operator);
    expect(stack.partnerA.env.API_KEYS_FILE).toBe(join(ROOT, "infra/dev/partner-a-principals.json"));
  });
});

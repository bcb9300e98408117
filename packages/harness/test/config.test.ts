import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { ConfigError, developmentDefaults, resolveConfig, secretsOf, validateConfig } from "../src/config.js";

const minimal = {
  PARTNER_A_URL: "http://127.0.0.1:3001/",
  PARTNER_A_API_KEY: "key-a-000000000000001",
  PARTNER_B_URL: "https://b.example.test",
  PARTNER_B_API_KEY: "key-b-000000000000001",
};

function problemsOf(run: () => unknown): string[] {
  try {
    run();
  } catch (error) {
    if (error instanceof ConfigError) return error.problems;
    throw error;
  }
  throw new Error("expected a ConfigError");
}

describe("resolveConfig", () => {
  it("reads the environment, lets flags win, and fills the conventions", () => {
    const config = resolveConfig({
      env: minimal,
      flags: { "partner-b-url": "http://flag.example.test" },
      devDefaults: false,
    });
    expect(config).toMatchObject({
      partnerAUrl: "http://127.0.0.1:3001",
      partnerBUrl: "http://flag.example.test",
      partnerAId: "partner-a",
      partnerBId: "partner-b",
      queuePrefix: "{share-broker}",
    });
    expect(config.sandboxUrl).toBeUndefined();
    expect(config.redisUrl).toBeUndefined();
  });

  it("defaults to the development stack of infra/dev, Didit base URL from the sandbox", () => {
    const dev = developmentDefaults();
    expect(dev.partnerAUrl).toBe("http://127.0.0.1:3001");
    expect(dev.partnerBUrl).toBe("http://127.0.0.1:3002");
    expect(dev.sandboxUrl).toBe("http://127.0.0.1:3003");
    expect(dev.queuePrefix).toBe("{share-broker}");
    expect(dev.partnersFile).toMatch(/infra\/dev\/partners\.json$/);
    const config = resolveConfig({ env: {} });
    expect(config.partnerAApiKey).toBe(dev.partnerAApiKey);
    expect(config.diditBaseUrl).toBe(dev.sandboxUrl);
  });

  it("turns the development defaults off with HARNESS_DEV_DEFAULTS=0, naming every missing setting", () => {
    const problems = problemsOf(() => resolveConfig({ env: { HARNESS_DEV_DEFAULTS: "0" } }));
    expect(problems).toEqual([
      expect.stringContaining("PARTNER_A_URL is required"),
      expect.stringContaining("PARTNER_A_API_KEY is required"),
      expect.stringContaining("PARTNER_B_URL is required"),
      expect.stringContaining("PARTNER_B_API_KEY is required"),
    ]);
  });
});

describe("validateConfig", () => {
  const base = resolveConfig({ env: minimal, devDefaults: false });

  it("says what is wrong with each setting, never echoing a secret", () => {
    const folder = mkdtempSync(join(tmpdir(), "harness-config-"));
    const problems = problemsOf(() =>
      validateConfig({
        ...base,
        partnerAUrl: "ftp://a.example.test",
        partnerBApiKey: "has a space secret-value",
        sandboxUrl: "http://127.0.0.1:3003",
        redisUrl: "http://not-redis",
        queuePrefix: "share-broker",
        thirdApplicationId: "not-a-uuid",
        partnersFile: folder,
        partnerAKeysDir: join(folder, "missing"),
      }),
    );
    expect(problems.join("\n")).not.toContain("secret-value");
    expect(problems).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^PARTNER_A_URL: .* must be a http or https URL/),
        "PARTNER_B_API_KEY: must not contain whitespace",
        expect.stringMatching(/^REDIS_URL: .* must be a redis or rediss URL/),
        expect.stringMatching(/^QUEUE_PREFIX: .*hash tag/),
        expect.stringMatching(/^THIRD_APPLICATION_ID: .* is not a UUID/),
        expect.stringMatching(/^PARTNERS_FILE: .* is a folder/),
        expect.stringMatching(/^PARTNER_A_KEYS_DIR: .* does not exist/),
        expect.stringContaining("SANDBOX_CONTROL_KEY is required with SANDBOX_URL"),
      ]),
    );
  });

  it("lists the configured secrets so output can be scrubbed of them", () => {
    const config = validateConfig({
      ...base,
      sandboxUrl: "http://s.test",
      sandboxControlKey: "control-key-0001",
    });
    expect(secretsOf(config).sort()).toEqual(
      ["control-key-0001", minimal.PARTNER_A_API_KEY, minimal.PARTNER_B_API_KEY].sort(),
    );
  });
});

import { describe, expect, it } from "vitest";
import { z } from "zod";
import { baseServiceEnv, ConfigError, env, loadConfig, resolvePrincipals } from "../src/index.js";

const schema = z.object({
  ...baseServiceEnv(3001),
  DATABASE_URL: env.url(["postgres:"], "a PostgreSQL URL"),
  DIDIT_API_KEY: env.secret("the Didit API key"),
});

function problemsOf(values: Record<string, string>): string[] {
  try {
    loadConfig(schema, values);
  } catch (error) {
    if (error instanceof ConfigError) return error.problems;
    throw error;
  }
  return [];
}

describe("loadConfig", () => {
  it("applies defaults and parses lists", () => {
    const config = loadConfig(schema, {
      API_KEYS: " key-aaaaaaaaaaaaaaaa , key-bbbbbbbbbbbbbbbb ",
      DATABASE_URL: "postgres://u:p@h:5432/db",
      DIDIT_API_KEY: "didit-key-0000000000",
    });
    expect(config.PORT).toBe(3001);
    expect(config.HOST).toBe("127.0.0.1");
    expect(config.API_KEYS).toEqual(["key-aaaaaaaaaaaaaaaa", "key-bbbbbbbbbbbbbbbb"]);
  });

  it("reports one line per problem, naming the variable and what is expected", () => {
    const problems = problemsOf({ PORT: "http", DATABASE_URL: "mysql://u:pw@h/db", DIDIT_API_KEY: "tiny" });
    // API_KEYS and API_KEYS_FILE are each optional here; resolvePrincipals requires exactly one.
    expect(problems).toHaveLength(3);
    expect(problems.find((p) => p.startsWith("PORT is invalid"))).toContain('(got "http")');
    // Passwords in URLs and secret values are never echoed.
    expect(problems.find((p) => p.startsWith("DATABASE_URL"))).toContain("mysql://u:***@h/db");
    expect(problems.find((p) => p.startsWith("DIDIT_API_KEY"))).toContain("(got 4 characters)");
    expect(problems.join("\n")).not.toContain("tiny");
  });

  it("treats an empty value as unset", () => {
    const config = loadConfig(schema, {
      API_KEYS: "   ",
      DATABASE_URL: "postgres://h/db",
      DIDIT_API_KEY: "x".repeat(20),
    });
    expect(config.API_KEYS).toBeUndefined();
    expect(() => resolvePrincipals(config)).toThrow(/API_KEYS_FILE is missing/);
  });

  it("refuses an API_KEYS that is set but too short, without echoing it", () => {
    const problems = problemsOf({
      API_KEYS: "short",
      DATABASE_URL: "postgres://h/db",
      DIDIT_API_KEY: "x".repeat(20),
    });
    expect(problems).toEqual([
      "API_KEYS is invalid (got 5 characters): expected a comma-separated list of Bearer API keys, each at least 16 characters",
    ]);
  });
});

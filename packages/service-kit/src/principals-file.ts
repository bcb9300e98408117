import { readFileSync } from "node:fs";
import { API_SCOPES } from "@share-broker/contracts";
import { z } from "zod";
import { type PrincipalEntry, principalsFromKeys } from "./auth.js";
import { ConfigError } from "./config.js";

/** One entry of API_KEYS_FILE. The key itself never appears in the file, only its SHA-256. */
const principalEntrySchema = z.strictObject({
  name: z
    .string()
    .regex(
      /^[a-z0-9][a-z0-9_.-]{0,62}$/,
      'lowercase letters, digits, ".", "-" or "_", at most 63 characters',
    ),
  scopes: z.array(z.enum(API_SCOPES)).min(1, "at least one scope"),
  key_sha256: z.string().regex(/^[0-9a-f]{64}$/, "64 lowercase hex characters (the SHA-256 of the key)"),
});
const principalsFileSchema = z.array(principalEntrySchema).min(1, "at least one principal");

/** Reads and checks API_KEYS_FILE; every problem is one line naming the entry and the field. */
export function readPrincipalsFile(path: string): PrincipalEntry[] {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (error) {
    throw new ConfigError([
      `API_KEYS_FILE cannot be read (${(error as NodeJS.ErrnoException).code ?? "error"}): ${path}`,
    ]);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new ConfigError([`API_KEYS_FILE is not valid JSON: ${path}`]);
  }
  const result = principalsFileSchema.safeParse(parsed);
  if (!result.success) {
    // Paths and messages only: the file holds hashes, but a value is never echoed back.
    throw new ConfigError(
      result.error.issues.map((issue) => {
        const [index, field] = issue.path;
        const where =
          index === undefined
            ? ""
            : ` entry ${Number(index) + 1}${field === undefined ? "" : ` ${String(field)}`}`;
        return `API_KEYS_FILE${where} is invalid: ${issue.message} (expected a JSON list of {name, scopes, key_sha256}; scopes among ${API_SCOPES.join(", ")})`;
      }),
    );
  }
  const problems: string[] = [];
  const names = new Set<string>();
  const hashes = new Set<string>();
  for (const [index, entry] of result.data.entries()) {
    if (names.has(entry.name)) problems.push(`API_KEYS_FILE entry ${index + 1} name repeats "${entry.name}"`);
    if (hashes.has(entry.key_sha256))
      problems.push(`API_KEYS_FILE entry ${index + 1} key_sha256 repeats an earlier key`);
    names.add(entry.name);
    hashes.add(entry.key_sha256);
  }
  if (problems.length > 0) throw new ConfigError(problems);
  return result.data.map((entry) => ({
    name: entry.name,
    scopes: entry.scopes,
    keySha256: entry.key_sha256,
  }));
}

/**
 * The principals a service accepts: API_KEYS_FILE in production, API_KEYS (every key a full-scope
 * principal) as the fallback. Exactly one must be set, so a deployment never runs with keys it
 * did not mean to keep.
 */
export function resolvePrincipals(config: {
  API_KEYS?: readonly string[];
  API_KEYS_FILE?: string;
}): PrincipalEntry[] {
  if (config.API_KEYS !== undefined && config.API_KEYS_FILE !== undefined) {
    throw new ConfigError([
      "API_KEYS and API_KEYS_FILE are both set: set only API_KEYS_FILE (named principals with scopes) and unset API_KEYS",
    ]);
  }
  if (config.API_KEYS_FILE !== undefined) return readPrincipalsFile(config.API_KEYS_FILE);
  if (config.API_KEYS !== undefined) return principalsFromKeys(config.API_KEYS);
  throw new ConfigError([
    "API_KEYS_FILE is missing: expected a JSON file of principals {name, scopes, key_sha256} (or API_KEYS, a comma-separated list of full-access keys)",
  ]);
}

/** resolvePrincipals, or one line per problem on stderr and exit 1, before anything listens. */
export function resolvePrincipalsOrExit(
  service: string,
  config: { API_KEYS?: readonly string[]; API_KEYS_FILE?: string },
): PrincipalEntry[] {
  try {
    return resolvePrincipals(config);
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    process.stderr.write(`${service}: cannot start, invalid configuration\n`);
    for (const problem of error.problems) process.stderr.write(`${service}: ${problem}\n`);
    process.exit(1);
  }
}

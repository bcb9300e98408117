import { existsSync, readFileSync } from "node:fs";
import { dirname, isAbsolute, join, resolve } from "node:path";
import { parseEnv } from "node:util";

/**
 * Variables of which a service accepts only one: when the real environment sets any of a group,
 * the dev file's others are left out, so `API_KEYS=… pnpm start` does not also get API_KEYS_FILE.
 */
const ALTERNATIVES = [["API_KEYS", "API_KEYS_FILE"]];

/** Variables holding a path; in the committed dev env files they are relative to the repo root. */
const PATH_VARIABLE = /(_FILE|_DIR|^SANDBOX_CONFIG)$/;

export function findRepoRoot(from: string = process.cwd()): string | undefined {
  let dir = resolve(from);
  for (;;) {
    if (existsSync(join(dir, "pnpm-workspace.yaml"))) return dir;
    const parent = dirname(dir);
    if (parent === dir) return undefined;
    dir = parent;
  }
}

/**
 * Outside production, fills unset variables from `infra/dev/<service>.env`, so
 * `pnpm --filter @share-broker/<service> start` works on a fresh clone. The real environment
 * always wins, and with NODE_ENV=production (the container images) nothing is read.
 * Returns the file used, if any, so the service can say so in its first log line.
 */
export function applyDevelopmentEnv(
  service: string,
  target: Record<string, string | undefined> = process.env,
): string | undefined {
  if (target.NODE_ENV === "production" || target.SHARE_BROKER_NO_DEV_ENV === "1") return undefined;
  const root = findRepoRoot();
  if (!root) return undefined;
  const file = join(root, "infra", "dev", `${service}.env`);
  if (!existsSync(file)) return undefined;
  const values = parseEnv(readFileSync(file, "utf8"));
  const givenElsewhere = (name: string) =>
    ALTERNATIVES.some((group) => group.includes(name) && group.some((other) => target[other] !== undefined));
  for (const [name, value] of Object.entries(values)) {
    if (target[name] !== undefined || value === undefined || givenElsewhere(name)) continue;
    target[name] = PATH_VARIABLE.test(name) && !isAbsolute(value) ? join(root, value) : value;
  }
  return file;
}

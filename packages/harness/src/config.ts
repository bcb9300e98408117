import { existsSync, readFileSync, statSync } from "node:fs";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

/**
 * Where the harness finds the stack under test. Only the two partners' public APIs are required;
 * everything else unlocks more scenarios (a scenario whose prerequisites are missing is skipped,
 * with the variable to set as its reason).
 */
export interface HarnessConfig {
  partnerAUrl: string;
  partnerAApiKey: string;
  /** Partner A's id in the partner registry (the `source` partner-b records). */
  partnerAId: string;
  partnerBUrl: string;
  partnerBApiKey: string;
  /** Partner B's id in the partner registry (the consent `audience`). */
  partnerBId: string;
  /** The Didit sandbox and its control key: verified users, faults, the clock. */
  sandboxUrl?: string | undefined;
  sandboxControlKey?: string | undefined;
  /** Didit's API (the sandbox's URL by default), for the Didit keys below. */
  diditBaseUrl?: string | undefined;
  /** Partner A's application key: mints share tokens for forged offers. */
  partnerADiditKey?: string | undefined;
  /** Partner B's application key: counts Didit's imports (the one-import rule's truth). */
  partnerBDiditKey?: string | undefined;
  /** A Didit application that is neither A's nor B's, for a token addressed elsewhere. */
  thirdApplicationId?: string | undefined;
  /** The channel's Redis, for envelope-level scenarios. */
  redisUrl?: string | undefined;
  queuePrefix: string;
  /** The partner registry (queue names, application ids, public keys). */
  partnersFile?: string | undefined;
  /** Partner A's private envelope keys, to seal offers acting as partner A. */
  partnerAKeysDir?: string | undefined;
}

export class ConfigError extends Error {
  override name = "ConfigError";
  constructor(readonly problems: string[]) {
    super(`invalid harness configuration:\n${problems.map((problem) => `  - ${problem}`).join("\n")}`);
  }
}

type Key = keyof HarnessConfig;

interface Setting {
  key: Key;
  env: string;
  flag: string;
  secret?: boolean;
  kind: "url" | "redis-url" | "key" | "id" | "uuid" | "prefix" | "file" | "dir";
  help: string;
}

/** Every setting: environment variable, command-line flag (which wins), meaning. */
export const SETTINGS: readonly Setting[] = [
  { key: "partnerAUrl", env: "PARTNER_A_URL", flag: "partner-a-url", kind: "url", help: "partner-a's API" },
  {
    key: "partnerAApiKey",
    env: "PARTNER_A_API_KEY",
    flag: "partner-a-api-key",
    kind: "key",
    secret: true,
    help: "Bearer key of partner-a",
  },
  {
    key: "partnerAId",
    env: "PARTNER_A_ID",
    flag: "partner-a-id",
    kind: "id",
    help: "partner A's registry id",
  },
  { key: "partnerBUrl", env: "PARTNER_B_URL", flag: "partner-b-url", kind: "url", help: "partner-b's API" },
  {
    key: "partnerBApiKey",
    env: "PARTNER_B_API_KEY",
    flag: "partner-b-api-key",
    kind: "key",
    secret: true,
    help: "Bearer key of partner-b",
  },
  {
    key: "partnerBId",
    env: "PARTNER_B_ID",
    flag: "partner-b-id",
    kind: "id",
    help: "partner B's registry id",
  },
  { key: "sandboxUrl", env: "SANDBOX_URL", flag: "sandbox-url", kind: "url", help: "the Didit sandbox" },
  {
    key: "sandboxControlKey",
    env: "SANDBOX_CONTROL_KEY",
    flag: "sandbox-control-key",
    kind: "key",
    secret: true,
    help: "Bearer key of /sandbox/*",
  },
  {
    key: "diditBaseUrl",
    env: "DIDIT_BASE_URL",
    flag: "didit-base-url",
    kind: "url",
    help: "Didit's API (default: SANDBOX_URL)",
  },
  {
    key: "partnerADiditKey",
    env: "SANDBOX_PARTNER_A_DIDIT_KEY",
    flag: "partner-a-didit-key",
    kind: "key",
    secret: true,
    help: "partner A's Didit application key",
  },
  {
    key: "partnerBDiditKey",
    env: "SANDBOX_PARTNER_B_DIDIT_KEY",
    flag: "partner-b-didit-key",
    kind: "key",
    secret: true,
    help: "partner B's Didit application key",
  },
  {
    key: "thirdApplicationId",
    env: "THIRD_APPLICATION_ID",
    flag: "third-application-id",
    kind: "uuid",
    help: "a Didit application that is neither A's nor B's",
  },
  { key: "redisUrl", env: "REDIS_URL", flag: "redis-url", kind: "redis-url", help: "the channel's Redis" },
  {
    key: "queuePrefix",
    env: "QUEUE_PREFIX",
    flag: "queue-prefix",
    kind: "prefix",
    help: "BullMQ prefix of the channel",
  },
  {
    key: "partnersFile",
    env: "PARTNERS_FILE",
    flag: "partners-file",
    kind: "file",
    help: "the partner registry",
  },
  {
    key: "partnerAKeysDir",
    env: "PARTNER_A_KEYS_DIR",
    flag: "partner-a-keys-dir",
    kind: "dir",
    help: "partner A's private envelope keys",
  },
];

const REQUIRED: readonly Key[] = ["partnerAUrl", "partnerAApiKey", "partnerBUrl", "partnerBApiKey"];
const CONVENTIONS: Partial<Record<Key, string>> = {
  partnerAId: "partner-a",
  partnerBId: "partner-b",
  queuePrefix: "{share-broker}",
};

/** The repository root when the harness runs from the monorepo (src/ or dist/), else undefined. */
function repositoryRoot(): string | undefined {
  const root = fileURLToPath(new URL("../../..", import.meta.url));
  return existsSync(join(root, "pnpm-workspace.yaml")) ? root : undefined;
}

function readEnvFile(file: string): Record<string, string> {
  if (!existsSync(file)) return {};
  const values: Record<string, string> = {};
  for (const line of readFileSync(file, "utf8").split("\n")) {
    const match = /^\s*([A-Z0-9_]+)\s*=\s*(.*?)\s*$/.exec(line);
    if (match?.[1] && !line.trimStart().startsWith("#")) values[match[1]] = match[2] ?? "";
  }
  return values;
}

/**
 * The development stack's values, read from infra/dev/*.env (the files `pnpm stack` and docker
 * compose use), so they never drift. Paths come back absolute; a keys folder that does not exist
 * yet (partner-a never started) is left out rather than reported as an error.
 */
export function developmentDefaults(root = repositoryRoot()): Partial<Record<Key, string>> {
  if (!root) return {};
  const dev = (name: string) => readEnvFile(join(root, "infra", "dev", `${name}.env`));
  const a = dev("partner-a");
  const b = dev("partner-b");
  const sandbox = dev("didit-sandbox");
  const url = (env: Record<string, string>) =>
    env.PORT
      ? `http://${env.HOST && env.HOST !== "0.0.0.0" ? env.HOST : "127.0.0.1"}:${env.PORT}`
      : undefined;
  const path = (value: string | undefined) => (value ? resolve(root, value) : undefined);
  const keysDir = path(a.KEYS_DIR);
  // The partners know their principals by key hash (API_KEYS_FILE); the operator's plain dev key is here.
  const devKeysFile = join(root, "infra", "dev", "api-keys.json");
  const devKeys = existsSync(devKeysFile)
    ? (JSON.parse(readFileSync(devKeysFile, "utf8")) as Partial<Record<string, { operator?: string }>>)
    : {};
  const defaults: Partial<Record<Key, string | undefined>> = {
    partnerAUrl: url(a),
    partnerAApiKey: a.API_KEYS?.split(",")[0] ?? devKeys["partner-a"]?.operator,
    partnerAId: a.PARTNER_ID,
    partnerBUrl: url(b),
    partnerBApiKey: b.API_KEYS?.split(",")[0] ?? devKeys["partner-b"]?.operator,
    partnerBId: b.PARTNER_ID,
    sandboxUrl: url(sandbox),
    sandboxControlKey: sandbox.SANDBOX_CONTROL_KEY,
    partnerADiditKey: a.DIDIT_API_KEY,
    partnerBDiditKey: b.DIDIT_API_KEY,
    redisUrl: a.REDIS_URL,
    queuePrefix: a.QUEUE_PREFIX,
    partnersFile: path(a.PARTNERS_FILE),
    partnerAKeysDir: keysDir && existsSync(keysDir) ? keysDir : undefined,
  };
  return Object.fromEntries(Object.entries(defaults).filter(([, value]) => value)) as Partial<
    Record<Key, string>
  >;
}

export interface ResolveConfigInput {
  /** Values from command-line flags, by flag name (`partner-a-url`); they win over the environment. */
  flags?: Record<string, string | undefined>;
  env?: Record<string, string | undefined>;
  /** Fill what is unset from infra/dev (default true; HARNESS_DEV_DEFAULTS=0 turns it off). */
  devDefaults?: boolean;
}

/** Flags, then environment, then the development stack's values; validated. Throws ConfigError. */
export function resolveConfig(input: ResolveConfigInput = {}): HarnessConfig {
  const env = input.env ?? process.env;
  const useDev = input.devDefaults ?? env.HARNESS_DEV_DEFAULTS !== "0";
  const dev = useDev ? developmentDefaults() : {};
  const raw: Partial<Record<Key, string>> = {};
  for (const setting of SETTINGS) {
    const value =
      nonEmpty(input.flags?.[setting.flag]) ??
      nonEmpty(env[setting.env]) ??
      dev[setting.key] ??
      CONVENTIONS[setting.key];
    if (value !== undefined) raw[setting.key] = value;
  }
  return validateConfig(raw);
}

function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value.trim() === "" ? undefined : value.trim();
}

/** Checks a configuration (from resolveConfig or built by a caller); one message per problem. */
export function validateConfig(input: Partial<HarnessConfig>): HarnessConfig {
  const problems: string[] = [];
  const config: Partial<Record<Key, string>> = {};
  for (const setting of SETTINGS) {
    const value = input[setting.key];
    if (value === undefined || value === "") {
      const fallback = CONVENTIONS[setting.key];
      if (fallback !== undefined) config[setting.key] = fallback;
      else if (REQUIRED.includes(setting.key))
        problems.push(`${setting.env} is required (${setting.help}; flag --${setting.flag})`);
      continue;
    }
    const problem = checkValue(setting, value);
    if (problem) problems.push(`${setting.env}: ${problem}`);
    else config[setting.key] = normalised(setting, value);
  }
  if (Boolean(config.sandboxUrl) !== Boolean(config.sandboxControlKey)) {
    problems.push(
      config.sandboxUrl
        ? "SANDBOX_CONTROL_KEY is required with SANDBOX_URL (Bearer key of the sandbox's /sandbox/* API)"
        : "SANDBOX_URL is required with SANDBOX_CONTROL_KEY",
    );
  }
  if (config.partnerAId && config.partnerAId === config.partnerBId) {
    problems.push("PARTNER_A_ID and PARTNER_B_ID must differ");
  }
  if (problems.length > 0) throw new ConfigError(problems);
  return { ...config, diditBaseUrl: config.diditBaseUrl ?? config.sandboxUrl } as HarnessConfig;
}

function normalised(setting: Setting, value: string): string {
  if (setting.kind === "url") return value.replace(/\/+$/, "");
  if (setting.kind === "file" || setting.kind === "dir") return resolve(value);
  return value;
}

function checkValue(setting: Setting, value: string): string | undefined {
  // Secret values are never echoed, not even in a message about them.
  const shown = setting.secret ? "the given value" : JSON.stringify(value);
  switch (setting.kind) {
    case "url":
    case "redis-url": {
      const protocols = setting.kind === "url" ? ["http:", "https:"] : ["redis:", "rediss:"];
      let url: URL;
      try {
        url = new URL(value);
      } catch {
        return `${shown} is not a URL`;
      }
      return protocols.includes(url.protocol)
        ? undefined
        : `${shown} must be a ${protocols.map((protocol) => protocol.slice(0, -1)).join(" or ")} URL`;
    }
    case "key":
      return /\s/.test(value) ? "must not contain whitespace" : undefined;
    case "id":
      return /^[a-z0-9_-]{1,64}$/.test(value) ? undefined : `${shown} must be [a-z0-9_-], 1..64 characters`;
    case "uuid":
      return /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(value)
        ? undefined
        : `${shown} is not a UUID`;
    case "prefix":
      return /^\{[A-Za-z0-9._-]+\}$/.test(value)
        ? undefined
        : `${shown} must be a Redis Cluster hash tag such as "{share-broker}"`;
    case "file":
    case "dir": {
      const path = resolve(value);
      if (!existsSync(path)) return `${JSON.stringify(path)} does not exist`;
      const isDir = statSync(path).isDirectory();
      if (setting.kind === "dir" && !isDir) return `${JSON.stringify(path)} is not a folder`;
      if (setting.kind === "file" && isDir) return `${JSON.stringify(path)} is a folder, not a file`;
      return undefined;
    }
  }
}

/** Every secret of a configuration, so output can be scrubbed of them whatever happens. */
export function secretsOf(config: HarnessConfig): string[] {
  return SETTINGS.filter((setting) => setting.secret)
    .map((setting) => config[setting.key])
    .filter((value): value is string => typeof value === "string" && value.length > 0);
}

/** Replaces any secret of the configuration in `text`. */
export function redact(text: string, secrets: readonly string[]): string {
  let out = text;
  for (const secret of secrets) if (secret.length >= 4) out = out.split(secret).join("[redacted]");
  return out;
}

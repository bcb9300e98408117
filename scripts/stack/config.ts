import { existsSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { isAbsolute, join, resolve } from "node:path";
import { parseEnv } from "node:util";

/**
 * What the stack runs and with which environment. Each service gets its `infra/dev/<service>.env`
 * (paths made absolute), then the few variables a developer may set for the whole stack, then
 * the stack's own choices (ports, databases, keys). A variable of a dev env file set in the shell
 * is otherwise ignored: a `DATABASE_URL` exported for the tests must not point both partners at
 * one database.
 */

export type ServiceName = "didit-sandbox" | "partner-a" | "partner-b" | "console";

export interface ServicePlan {
  name: ServiceName;
  /** The service's folder (services/<name> or packages/console). */
  dir: string;
  port: number;
  url: string;
  /** Every variable the service reads; the stack passes SHARE_BROKER_NO_DEV_ENV=1 with them. */
  env: Record<string, string>;
  /** Has a database to migrate before it starts. */
  migrates: boolean;
}

export interface StackConfig {
  root: string;
  /** Run `src/*.ts` through tsx instead of `dist/*.js` (tests; no build needed). */
  fromSource: boolean;
  sandbox: ServicePlan;
  partnerA: ServicePlan;
  partnerB: ServicePlan;
  console: ServicePlan;
  /** partner-a's and partner-b's first Bearer key and the sandbox's control key: the demo's credentials. */
  keys: { partnerA: string; partnerB: string; sandboxControl: string };
  /** Folder of generated files (applications, partner registry), removed when the stack stops. */
  runtimeDir: string | undefined;
}

/** Variables a developer may set in the shell for every service of the stack. */
const STACK_WIDE = ["LOG_LEVEL", "REDIS_URL", "QUEUE_PREFIX"] as const;
const DEFAULT_PORTS = { "partner-a": 3001, "partner-b": 3002, "didit-sandbox": 3003, console: 3000 } as const;
const PATH_VARIABLE = /(_FILE|_DIR|^SANDBOX_CONFIG)$/;

export class StackConfigError extends Error {}

/** A dev env file's values, paths relative to the repository root made absolute; {} when absent. */
export function readDevEnv(root: string, service: string): Record<string, string> {
  const file = join(root, "infra", "dev", `${service}.env`);
  if (!existsSync(file)) return {};
  const values: Record<string, string> = {};
  for (const [name, value] of Object.entries(parseEnv(readFileSync(file, "utf8")))) {
    if (value === undefined) continue;
    values[name] = PATH_VARIABLE.test(name) && !isAbsolute(value) ? join(root, value) : value;
  }
  return values;
}

/** `STACK_PORTS=a,b,sandbox,console`, e.g. `4001,4002,4003,4000`. */
export function parsePorts(value: string | undefined): Record<ServiceName, number> {
  if (!value?.trim()) return { ...DEFAULT_PORTS };
  const parts = value.split(",").map((part) => part.trim());
  const ports = parts.map(Number);
  if (parts.length !== 4 || ports.some((port) => !Number.isInteger(port) || port < 1 || port > 65535)) {
    throw new StackConfigError(
      `STACK_PORTS must be four ports "partner-a,partner-b,sandbox,console" (got "${value}")`,
    );
  }
  if (new Set(ports).size !== 4) throw new StackConfigError(`STACK_PORTS has a port twice (got "${value}")`);
  const [a, b, sandbox, console] = ports as [number, number, number, number];
  return { "partner-a": a, "partner-b": b, "didit-sandbox": sandbox, console };
}

interface ApplicationsFile {
  applications: Array<{ application_id: string; webhook_url?: string } & Record<string, unknown>>;
}
/** infra/dev/api-keys.json: each partner's plain development keys, by principal. */
type DevApiKeys = Record<"partner-a" | "partner-b", { operator: string; console: string }>;

interface PartnersFile {
  partners: Array<{ partner_id: string; didit_application_id: string; public_keys_file?: string }>;
}

const readJson = <T>(file: string): T => JSON.parse(readFileSync(file, "utf8")) as T;

/**
 * The sandbox applications with each partner's webhook URL on the port it listens on this time;
 * `undefined` when the file already says so.
 */
export function applicationsFor(
  applications: ApplicationsFile,
  partners: PartnersFile,
  webhookUrls: Record<string, string>,
): ApplicationsFile | undefined {
  let changed = false;
  const rewritten = applications.applications.map((application) => {
    const partner = partners.partners.find(
      (entry) => entry.didit_application_id === application.application_id,
    );
    const url = partner ? webhookUrls[partner.partner_id] : undefined;
    if (!url || application.webhook_url === url) return application;
    changed = true;
    return { ...application, webhook_url: url };
  });
  return changed ? { ...applications, applications: rewritten } : undefined;
}

/** The partner registry with public key files under `keysRoot`; `undefined` when nothing changes. */
export function partnersFor(
  partners: PartnersFile,
  root: string,
  keysRoot: string,
): PartnersFile | undefined {
  let changed = false;
  const rewritten = partners.partners.map((entry) => {
    if (!entry.public_keys_file) return entry;
    const file = join(keysRoot, entry.partner_id, "public.jwks.json");
    if (resolve(root, entry.public_keys_file) === file) return entry;
    changed = true;
    return { ...entry, public_keys_file: file };
  });
  return changed ? { ...partners, partners: rewritten } : undefined;
}

function required(env: Record<string, string>, name: string, service: string): string {
  const value = env[name];
  if (!value) throw new StackConfigError(`${name} is missing for ${service} (infra/dev/${service}.env)`);
  return value;
}

/** Reads the stack's configuration from `environment` (normally process.env). */
export function loadStackConfig(root: string, environment: Record<string, string | undefined>): StackConfig {
  const ports = parsePorts(environment.STACK_PORTS);
  const url = (name: ServiceName) => `http://127.0.0.1:${ports[name]}`;
  const wide: Record<string, string> = {};
  for (const name of STACK_WIDE) {
    const value = environment[name];
    if (value) wide[name] = value;
  }
  const dev = {
    sandbox: readDevEnv(root, "didit-sandbox"),
    a: readDevEnv(root, "partner-a"),
    b: readDevEnv(root, "partner-b"),
    console: readDevEnv(root, "console"),
  };
  let runtimeDir: string | undefined;
  const runtimeFile = (name: string, content: unknown) => {
    runtimeDir ??= mkdtempSync(join(tmpdir(), "share-broker-stack-"));
    const file = join(runtimeDir, name);
    writeFileSync(file, `${JSON.stringify(content, null, 2)}\n`);
    return file;
  };

  const keysRoot = resolve(root, environment.STACK_KEYS_DIR || ".keys");
  const partnersFile = required(dev.a, "PARTNERS_FILE", "partner-a");
  const partners = readJson<PartnersFile>(partnersFile);
  const partnersOverride = partnersFor(partners, root, keysRoot);
  const effectivePartnersFile = partnersOverride
    ? runtimeFile("partners.json", partnersOverride)
    : partnersFile;

  let applicationsFile = environment.STACK_APPLICATIONS_FILE
    ? resolve(environment.STACK_APPLICATIONS_FILE)
    : required(dev.sandbox, "SANDBOX_CONFIG", "didit-sandbox");
  if (!environment.STACK_APPLICATIONS_FILE) {
    const rewritten = applicationsFor(readJson<ApplicationsFile>(applicationsFile), partners, {
      "partner-a": `${url("partner-a")}/v1/webhooks/didit`,
      "partner-b": `${url("partner-b")}/v1/webhooks/didit`,
    });
    if (rewritten) applicationsFile = runtimeFile("applications.json", rewritten);
  }

  const partnerEnv = (
    name: "partner-a" | "partner-b",
    base: Record<string, string>,
    databaseVariable: string,
  ) => ({
    ...base,
    ...wide,
    PORT: String(ports[name]),
    HOST: "127.0.0.1",
    DIDIT_BASE_URL: url("didit-sandbox"),
    DATABASE_URL: environment[databaseVariable] || required(base, "DATABASE_URL", name),
    KEYS_DIR: join(keysRoot, name),
    PARTNERS_FILE: effectivePartnersFile,
  });
  const envA = partnerEnv("partner-a", dev.a, "STACK_PARTNER_A_DATABASE_URL");
  const envB = partnerEnv("partner-b", dev.b, "STACK_PARTNER_B_DATABASE_URL");
  const envSandbox = {
    ...dev.sandbox,
    ...(wide.LOG_LEVEL ? { LOG_LEVEL: wide.LOG_LEVEL } : {}),
    PORT: String(ports["didit-sandbox"]),
    HOST: "127.0.0.1",
    SANDBOX_CONFIG: applicationsFile,
    SANDBOX_PUBLIC_URL: url("didit-sandbox"),
  };
  // The partners know their principals by key hash (API_KEYS_FILE); the plain dev keys are here.
  const devKeys = readJson<DevApiKeys>(join(root, "infra", "dev", "api-keys.json"));
  const keys = {
    partnerA: dev.a.API_KEYS?.split(",")[0]?.trim() || devKeys["partner-a"].operator,
    partnerB: dev.b.API_KEYS?.split(",")[0]?.trim() || devKeys["partner-b"].operator,
    sandboxControl: required(envSandbox, "SANDBOX_CONTROL_KEY", "didit-sandbox"),
  };
  const envConsole = {
    ...dev.console,
    ...(wide.LOG_LEVEL ? { LOG_LEVEL: wide.LOG_LEVEL } : {}),
    PORT: String(ports.console),
    HOST: "127.0.0.1",
    PARTNER_A_URL: url("partner-a"),
    // The console's own read-only principal, not the operator's key.
    PARTNER_A_API_KEY: dev.console.PARTNER_A_API_KEY || devKeys["partner-a"].console,
    PARTNER_B_URL: url("partner-b"),
    PARTNER_B_API_KEY: dev.console.PARTNER_B_API_KEY || devKeys["partner-b"].console,
  };
  const plan = (name: ServiceName, dir: string, env: Record<string, string>, migrates: boolean) => ({
    name,
    dir: join(root, dir),
    port: ports[name],
    url: url(name),
    env,
    migrates,
  });
  return {
    root,
    fromSource: environment.STACK_FROM_SOURCE === "1",
    sandbox: plan("didit-sandbox", "services/didit-sandbox", envSandbox, false),
    partnerA: plan("partner-a", "services/partner-a", envA, true),
    partnerB: plan("partner-b", "services/partner-b", envB, true),
    console: plan("console", "packages/console", envConsole, false),
    keys,
    runtimeDir,
  };
}

/** The stack is a development tool: production mode would refuse to generate development keys. */
const NOT_INHERITED = new Set(["DATABASE_URL", "NODE_ENV"]);

/**
 * The environment a service process gets: the shell's, without any variable a dev env file
 * names (those come from the plan), plus the plan's values.
 */
export function childEnvironment(
  root: string,
  plan: ServicePlan,
  environment: Record<string, string | undefined>,
): Record<string, string> {
  const planned = new Set(
    ["didit-sandbox", "partner-a", "partner-b", "console"].flatMap((service) =>
      Object.keys(readDevEnv(root, service)),
    ),
  );
  const env: Record<string, string> = {};
  for (const [name, value] of Object.entries(environment)) {
    if (value !== undefined && !planned.has(name) && !NOT_INHERITED.has(name)) env[name] = value;
  }
  return { ...env, ...plan.env, SHARE_BROKER_NO_DEV_ENV: "1", FORCE_COLOR: "0", NO_COLOR: "1" };
}

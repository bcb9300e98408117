import { spawn, spawnSync } from "node:child_process";
import { closeSync, existsSync, openSync, readdirSync, readFileSync, readSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { delimiter, join, posix } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { parseEnv } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

// The container stack (docker-compose.yml, infra/docker, infra/compose, infra/postgres, infra/redis)
// checked against what the services actually read: their config schemas and infra/dev env files.
// No Docker engine is needed: `docker-compose config` validates and resolves the file offline.

const ROOT = fileURLToPath(new URL("../../../", import.meta.url));
const COMPOSE_FILE = join(ROOT, "docker-compose.yml");
const HEALTHCHECK_SCRIPT = join(ROOT, "infra/docker/healthcheck.mjs");

/** Variables holding a path; mirrors PATH_VARIABLE in packages/service-kit/src/dev-env.ts. */
const PATH_VARIABLE = /(_FILE|_DIR|^SANDBOX_CONFIG)$/;

/** Addresses of things other than compose services: the host's browser reaches these. */
const BROWSER_URL_VARIABLES = new Set(["SANDBOX_PUBLIC_URL"]);

/** Well-known ports of the infrastructure services the application services dial. */
const INFRA_PORTS: Record<string, number> = { postgres: 5432, redis: 6379 };

interface StackService {
  name: string;
  schemaExport: string;
  probe: string;
  migrate?: string;
}

const STACK_SERVICES: StackService[] = [
  { name: "partner-a", schemaExport: "partnerAConfigSchema", probe: "/readyz", migrate: "migrate-partner-a" },
  { name: "partner-b", schemaExport: "partnerBConfigSchema", probe: "/readyz", migrate: "migrate-partner-b" },
  { name: "didit-sandbox", schemaExport: "sandboxConfigSchema", probe: "/healthz" },
];
const PARTNERS = STACK_SERVICES.filter((service) => service.migrate !== undefined);

// ---------------------------------------------------------------------------------------------
// `docker-compose config` output. v2 prints JSON with --format json; v1 (Debian's Python
// docker-compose 1.29) only prints YAML, converted by the PyYAML it runs on. Both shapes of the
// port and volume entries (v1 short strings, v2 objects) are normalised below.

type PortEntry = string | { host_ip?: string; published?: string | number; target: number | string };
type VolumeEntry = string | { type: string; source?: string; target: string; read_only?: boolean };

interface ComposeService {
  image?: string;
  build?: { context: string; dockerfile?: string; target?: string; args?: Record<string, string> };
  command?: string[] | string;
  environment?: Record<string, string | number | boolean | null>;
  env_file?: string[] | string;
  ports?: PortEntry[];
  volumes?: VolumeEntry[];
  healthcheck?: { test?: string[] | string; disable?: boolean };
  depends_on?: Record<string, { condition?: string }>;
  restart?: string;
}

interface ComposeConfig {
  services: Record<string, ComposeService>;
  volumes?: Record<string, unknown>;
}

function findOnPath(command: string): string | undefined {
  for (const dir of (process.env.PATH ?? "").split(delimiter)) {
    if (dir && existsSync(join(dir, command))) return join(dir, command);
  }
  return undefined;
}

const COMPOSE_BINARY = findOnPath("docker-compose");

function runCompose(args: string[]) {
  return spawnSync(COMPOSE_BINARY ?? "docker-compose", ["--file", COMPOSE_FILE, ...args], {
    cwd: ROOT,
    encoding: "utf8",
    // Interpolation must not pick up a developer's COMPOSE_* or service variables.
    env: { PATH: process.env.PATH, HOME: process.env.HOME },
  });
}

/** The interpreter named by a script's `#!` line, e.g. ["/usr/bin/python3"]. */
function shebangOf(file: string): string[] | undefined {
  const buffer = Buffer.alloc(256);
  const fd = openSync(file, "r");
  const length = readSync(fd, buffer, 0, buffer.length, 0);
  closeSync(fd);
  const firstLine = buffer.subarray(0, length).toString("utf8").split("\n")[0] ?? "";
  return firstLine.startsWith("#!") ? firstLine.slice(2).trim().split(/\s+/) : undefined;
}

function loadComposeConfig(): ComposeConfig {
  const asJson = runCompose(["config", "--format", "json"]);
  // v1 answers an unknown option with its usage text and exit code 0.
  if (asJson.status === 0 && asJson.stdout.trimStart().startsWith("{")) {
    return JSON.parse(asJson.stdout) as ComposeConfig;
  }
  const asYaml = runCompose(["config"]);
  if (asYaml.status !== 0) throw new Error(`docker-compose config failed:\n${asYaml.stderr}`);
  const [python = "python3", ...pythonArgs] = (COMPOSE_BINARY && shebangOf(COMPOSE_BINARY)) ?? [];
  const toJson = "import json, sys, yaml; json.dump(yaml.safe_load(sys.stdin), sys.stdout)";
  const converted = spawnSync(python, [...pythonArgs, "-c", toJson], {
    input: asYaml.stdout,
    encoding: "utf8",
  });
  if (converted.status !== 0)
    throw new Error(`cannot convert the compose YAML to JSON:\n${converted.stderr}`);
  return JSON.parse(converted.stdout) as ComposeConfig;
}

interface PublishedPort {
  hostIp: string | undefined;
  published: number;
  target: number;
}

function publishedPorts(service: ComposeService): PublishedPort[] {
  return (service.ports ?? []).map((port) => {
    if (typeof port !== "string") {
      return { hostIp: port.host_ip, published: Number(port.published), target: Number(port.target) };
    }
    const match = /^(?:(.+):)?(\d+):(\d+)(?:\/\w+)?$/.exec(port);
    if (!match) throw new Error(`unsupported port entry "${port}"`);
    return { hostIp: match[1], published: Number(match[2]), target: Number(match[3]) };
  });
}

interface Mount {
  source: string;
  target: string;
  named: boolean;
  readOnly: boolean;
}

function mountsOf(service: ComposeService): Mount[] {
  return (service.volumes ?? []).map((volume) => {
    if (typeof volume !== "string") {
      return {
        source: volume.source ?? "",
        target: volume.target,
        named: volume.type === "volume",
        readOnly: volume.read_only === true,
      };
    }
    const [source = "", target = "", mode = "rw"] = volume.split(":");
    return { source, target, named: !source.startsWith("/"), readOnly: mode.split(",").includes("ro") };
  });
}

/** The mount that provides a container path: the deepest one whose target contains it. */
function mountFor(service: ComposeService, containerPath: string): Mount | undefined {
  return mountsOf(service)
    .filter((mount) => containerPath === mount.target || containerPath.startsWith(`${mount.target}/`))
    .sort((a, b) => b.target.length - a.target.length)[0];
}

/** Where a bind-mounted container path is on this machine. */
function hostPathOf(service: ComposeService, containerPath: string): string {
  const mount = mountFor(service, containerPath);
  if (!mount || mount.named) throw new Error(`${containerPath} is not bind-mounted from the repository`);
  return join(mount.source, posix.relative(mount.target, containerPath));
}

/** The environment a container starts with: env_file entries, then `environment:` on top. */
function environmentOf(service: ComposeService): Record<string, string> {
  const merged: Record<string, string> = {};
  const envFiles = typeof service.env_file === "string" ? [service.env_file] : (service.env_file ?? []);
  for (const file of envFiles) {
    for (const [name, value] of Object.entries(parseEnv(readFileSync(file, "utf8")))) {
      if (value !== undefined) merged[name] = value;
    }
  }
  for (const [name, value] of Object.entries(service.environment ?? {})) {
    if (value !== null) merged[name] = String(value);
  }
  return merged;
}

function commandOf(service: ComposeService): string[] {
  const command = service.command ?? [];
  return typeof command === "string" ? command.split(/\s+/) : command;
}

function healthcheckCommand(service: ComposeService): string {
  const test = service.healthcheck?.test ?? [];
  return typeof test === "string" ? test : test.join(" ");
}

function readJson<T>(path: string): T {
  return JSON.parse(readFileSync(path, "utf8")) as T;
}

/** A stack service's own dev env file: what `pnpm stack` reads outside containers. */
function devEnv(name: string): Record<string, string | undefined> {
  return parseEnv(readFileSync(join(ROOT, "infra/dev", `${name}.env`), "utf8"));
}

// ---------------------------------------------------------------------------------------------
// Service config schemas, read from the services' sources (zod objects; typed only as used here).

interface ParseResult {
  success: boolean;
  data?: unknown;
  error?: { issues: { path: PropertyKey[]; message: string }[] };
}

interface ConfigSchema {
  shape: Record<string, { safeParse: (value: unknown) => ParseResult }>;
  safeParse: (value: unknown) => ParseResult;
}

async function loadSchema(service: StackService): Promise<ConfigSchema> {
  const url = pathToFileURL(join(ROOT, "services", service.name, "src/config.ts")).href;
  const module = (await import(url)) as Record<string, unknown>;
  const schema = module[service.schemaExport] as ConfigSchema | undefined;
  if (!schema?.shape) throw new Error(`${service.name}: src/config.ts exports no ${service.schemaExport}`);
  return schema;
}

/** Variables the service cannot start without: their schema rejects "unset". */
function requiredVariables(schema: ConfigSchema): string[] {
  return Object.entries(schema.shape)
    .filter(([, variable]) => !variable.safeParse(undefined).success)
    .map(([name]) => name);
}

function defaultPort(schema: ConfigSchema): number {
  return Number(schema.shape.PORT?.safeParse(undefined).data);
}

function problemsOf(result: ParseResult): string[] {
  return (result.error?.issues ?? []).map((issue) => `${String(issue.path[0])}: ${issue.message}`);
}

// ---------------------------------------------------------------------------------------------

describe("docker-compose.yml", () => {
  let config: ComposeConfig;
  const schemas = new Map<string, ConfigSchema>();

  const composeService = (name: string): ComposeService => {
    const service = config.services[name];
    if (!service) throw new Error(`docker-compose.yml has no service "${name}"`);
    return service;
  };

  beforeAll(async () => {
    // Never a silent skip: scripts/test.sh and .ci/run install it (Debian's package, no engine needed).
    if (!COMPOSE_BINARY) {
      throw new Error("docker-compose is not on PATH: run `apt-get install -y docker-compose` (as root)");
    }
    config = loadComposeConfig();
    for (const service of STACK_SERVICES) schemas.set(service.name, await loadSchema(service));
  });

  it("passes `docker-compose config -q`", () => {
    const result = runCompose(["config", "-q"]);
    expect(result.stderr).toBe("");
    expect(result.status).toBe(0);
  });

  describe.each(STACK_SERVICES)("$name", (stackService) => {
    const service = () => composeService(stackService.name);
    const schema = () => schemas.get(stackService.name) as ConfigSchema;
    const port = () => Number(environmentOf(service()).PORT);

    it("builds from infra/docker/Dockerfile with its SERVICE argument", () => {
      const dockerfile = readFileSync(join(ROOT, "infra/docker/Dockerfile"), "utf8");
      expect(service().build?.dockerfile).toBe("infra/docker/Dockerfile");
      expect(service().build?.args?.SERVICE).toBe(stackService.name);
      expect(dockerfile).toMatch(new RegExp(`^\\s*[\\w|-]*\\b${stackService.name}\\b[\\w|-]*\\)`, "m"));
    });

    it("publishes, on 127.0.0.1, the PORT of its dev env file, which is its config default", () => {
      const expected = defaultPort(schema());
      expect(Number(devEnv(stackService.name).PORT)).toBe(expected);
      expect(port()).toBe(expected);
      expect(publishedPorts(service())).toEqual([
        { hostIp: "127.0.0.1", published: expected, target: expected },
      ]);
    });

    it("sets every variable its config schema requires, each valid", () => {
      const environment = environmentOf(service());
      const missing = requiredVariables(schema()).filter((name) => !environment[name]?.trim());
      expect(missing).toEqual([]);
      expect(problemsOf(schema().safeParse(environment))).toEqual([]);
    });

    it("listens on all interfaces, so the published port reaches it", () => {
      expect(environmentOf(service()).HOST).toBe("0.0.0.0");
    });

    // The partners only (the services with a migration): the sandbox runs uncapped.
    if (stackService.migrate !== undefined) {
      it("caps the heap as the benchmark measured it (bench/services.ts PARTNER_NODE_OPTIONS)", () => {
        expect(environmentOf(service()).NODE_OPTIONS).toBe(
          "--max-old-space-size=160 --max-semi-space-size=16",
        );
      });
    }

    it("overrides every path variable with a container path that a mount provides", () => {
      const environment = environmentOf(service());
      const pathVariables = Object.keys(environment).filter((name) => PATH_VARIABLE.test(name));
      expect(pathVariables.length).toBeGreaterThan(0);
      for (const name of pathVariables) {
        const path = environment[name] as string;
        expect(posix.isAbsolute(path), `${name}=${path}`).toBe(true);
        const mount = mountFor(service(), path);
        expect(mount, `${name}=${path} is on no mount`).toBeDefined();
        if (name.endsWith("_DIR")) {
          // Generated state (envelope keys) must outlive the container.
          expect(mount?.named, `${name} should be on a named volume`).toBe(true);
        } else {
          expect(existsSync(hostPathOf(service(), path)), `${name}=${path} has no file behind it`).toBe(true);
        }
      }
    });

    it("dials other services by their compose names and ports", () => {
      const environment = environmentOf(service());
      for (const [name, value] of Object.entries(environment)) {
        if (BROWSER_URL_VARIABLES.has(name) || !/^[a-z]+:\/\//.test(value)) continue;
        const url = new URL(value);
        expect(Object.keys(config.services), `${name}=${value}`).toContain(url.hostname);
        const peer = composeService(url.hostname);
        const peerPort = INFRA_PORTS[url.hostname] ?? Number(environmentOf(peer).PORT);
        expect(Number(url.port), `${name}=${value}`).toBe(peerPort);
      }
    });

    it(`health-checks ${stackService.probe} on its own port`, () => {
      const probe = /https?:\/\/[^\s"']+/.exec(healthcheckCommand(service()))?.[0];
      expect(probe).toBeDefined();
      const url = new URL(probe as string);
      expect(Number(url.port)).toBe(port());
      expect(url.pathname).toBe(stackService.probe);
    });

    it("starts only after its dependencies are healthy or, for migrations, done", () => {
      const dependsOn = service().depends_on ?? {};
      for (const [dependency, { condition }] of Object.entries(dependsOn)) {
        const isOneShot = composeService(dependency).restart === "no";
        expect(condition, dependency).toBe(isOneShot ? "service_completed_successfully" : "service_healthy");
        if (!isOneShot) expect(composeService(dependency).healthcheck?.test, dependency).toBeDefined();
      }
      if (stackService.migrate) {
        expect(Object.keys(dependsOn).sort()).toEqual(
          ["didit-sandbox", stackService.migrate, "postgres", "redis"].sort(),
        );
      }
    });
  });

  describe.each(PARTNERS)("$migrate", (partner) => {
    it("migrates the partner's database once, from the partner's image", () => {
      const migrate = composeService(partner.migrate as string);
      const server = composeService(partner.name);
      expect(migrate.image).toBe(server.image);
      expect(migrate.build).toEqual(server.build);
      expect(commandOf(migrate)).toEqual(["node", "dist/migrate.js"]);
      expect(migrate.restart).toBe("no");
      expect(environmentOf(migrate).DATABASE_URL).toBe(environmentOf(server).DATABASE_URL);
      expect(migrate.depends_on?.postgres?.condition).toBe("service_healthy");
      expect(existsSync(join(ROOT, "services", partner.name, "src/migrate.ts"))).toBe(true);
    });
  });

  it("runs Redis with an append-only file and noeviction, for BullMQ", () => {
    const redis = composeService("redis");
    const directives = new Map<string, string>();
    const [binary, ...args] = commandOf(redis);
    expect(binary).toBe("redis-server");
    const configFile = args[0] && !args[0].startsWith("--") ? args.shift() : undefined;
    if (configFile) {
      for (const line of readFileSync(hostPathOf(redis, configFile), "utf8").split("\n")) {
        const [key, ...value] = line.trim().split(/\s+/);
        if (key && !key.startsWith("#")) directives.set(key.toLowerCase(), value.join(" "));
      }
    }
    for (let i = 0; i < args.length; i += 2) {
      directives.set(String(args[i]).replace(/^--/, "").toLowerCase(), String(args[i + 1]));
    }
    expect(directives.get("appendonly")).toBe("yes");
    expect(directives.get("maxmemory-policy")).toBe("noeviction");
    expect(mountFor(redis, "/data")?.named).toBe(true);
    expect(healthcheckCommand(redis)).toContain("redis-cli ping");
  });

  it("creates both partner databases when Postgres first starts", () => {
    const postgres = composeService("postgres");
    const initDir = hostPathOf(postgres, "/docker-entrypoint-initdb.d");
    const sql = readdirSync(initDir)
      .filter((file) => file.endsWith(".sql"))
      .map((file) => readFileSync(join(initDir, file), "utf8"))
      .join("\n");
    const created = [...sql.matchAll(/create\s+database\s+"?(\w+)"?/gi)].map((match) => match[1]);
    const wanted = PARTNERS.map((partner) => {
      const url = new URL(environmentOf(composeService(partner.name)).DATABASE_URL as string);
      return url.pathname.slice(1);
    });
    expect(wanted.sort()).toEqual(["partner_a", "partner_b"]);
    expect(created.sort()).toEqual(wanted);
    expect(healthcheckCommand(postgres)).toContain("pg_isready");
  });

  it("gives the sandbox the dev applications, with webhooks addressed to the partner services", () => {
    const sandbox = composeService("didit-sandbox");
    const file = hostPathOf(sandbox, environmentOf(sandbox).SANDBOX_CONFIG as string);
    type Application = { webhook_url: string } & Record<string, unknown>;
    type ApplicationsFile = { applications: Application[] };
    const composeApps = readJson<ApplicationsFile>(file).applications;
    const devApps = readJson<ApplicationsFile>(join(ROOT, "infra/dev/applications.json")).applications;
    expect(composeApps.length).toBe(devApps.length);
    composeApps.forEach((app, index) => {
      const devApp = devApps[index] as Application;
      expect({ ...app, webhook_url: "" }).toEqual({ ...devApp, webhook_url: "" });
      const devUrl = new URL(devApp.webhook_url);
      const partner = PARTNERS.find((p) => devEnv(p.name).PORT === devUrl.port);
      expect(partner, devApp.webhook_url).toBeDefined();
      const url = new URL(app.webhook_url);
      expect(url.hostname).toBe(partner?.name);
      expect(url.port).toBe(devUrl.port);
      expect(url.pathname).toBe(devUrl.pathname);
    });
  });

  it("gives both partners the dev registry, with public keys on one shared keys volume", () => {
    type Entry = { partner_id: string; public_keys_file: string } & Record<string, unknown>;
    const registryOf = (name: string) => {
      const environment = environmentOf(composeService(name));
      const file = hostPathOf(composeService(name), environment.PARTNERS_FILE as string);
      return readJson<{ partners: Entry[] }>(file).partners;
    };
    const devRegistry = readJson<{ partners: Entry[] }>(join(ROOT, "infra/dev/partners.json")).partners;
    for (const reader of PARTNERS) {
      const registry = registryOf(reader.name);
      expect(registry.length).toBe(devRegistry.length);
      registry.forEach((entry, index) => {
        const devEntry = devRegistry[index] as Entry;
        expect({ ...entry, public_keys_file: "" }).toEqual({ ...devEntry, public_keys_file: "" });
        // The owner writes its keys under its KEYS_DIR; the reader must see the same volume there.
        const owner = composeService(entry.partner_id);
        const ownerKeysDir = environmentOf(owner).KEYS_DIR as string;
        const devKeysDir = devEnv(entry.partner_id).KEYS_DIR as string;
        expect(posix.relative(ownerKeysDir, entry.public_keys_file)).toBe(
          posix.relative(devKeysDir, devEntry.public_keys_file),
        );
        const readerMount = mountFor(composeService(reader.name), entry.public_keys_file);
        const ownerMount = mountFor(owner, ownerKeysDir);
        expect(readerMount?.named, `${reader.name} reading ${entry.public_keys_file}`).toBe(true);
        expect(readerMount?.source).toBe(ownerMount?.source);
      });
    }
  });
});

// ---------------------------------------------------------------------------------------------

describe("infra/docker/healthcheck.mjs", () => {
  let server: Server;
  let base: string;
  const statusFor: Record<string, number> = { "/healthz": 200, "/readyz": 503 };

  beforeAll(async () => {
    server = createServer((request, response) => {
      response.writeHead(statusFor[request.url ?? ""] ?? 404, { "content-type": "application/json" });
      response.end('{"status":"whatever"}');
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  afterAll(async () => {
    await new Promise((resolve) => server.close(resolve));
  });

  // Asynchronous: the probed server lives in this process and must keep answering.
  const probe = (env: Record<string, string>, args: string[] = []) =>
    new Promise<number | null>((resolve) => {
      const child = spawn(process.execPath, [HEALTHCHECK_SCRIPT, ...args], {
        env: { PATH: process.env.PATH, ...env },
        stdio: "ignore",
      });
      child.once("exit", (code) => resolve(code));
    });

  it("exits 0 when the URL answers 2xx", async () => {
    expect(await probe({}, [`${base}/healthz`])).toBe(0);
  });

  it("exits 1 when the URL answers an error status", async () => {
    expect(await probe({}, [`${base}/readyz`])).toBe(1);
  });

  it("exits 1 when nothing answers", async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, "127.0.0.1", resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise((resolve) => closed.close(resolve));
    expect(await probe({}, [`http://127.0.0.1:${port}/healthz`])).toBe(1);
  });

  it("probes /healthz on PORT without a URL", async () => {
    expect(await probe({ PORT: new URL(base).port })).toBe(0);
  });

  it("knows each service's default port, the one its config schema defaults to", async () => {
    const script = readFileSync(HEALTHCHECK_SCRIPT, "utf8");
    for (const service of STACK_SERVICES) {
      const schema = await loadSchema(service);
      expect(script, service.name).toContain(`"${service.name}": ${defaultPort(schema)}`);
    }
  });
});

import { type SpawnSyncReturns, spawnSync } from "node:child_process";
import { cpSync, existsSync, lstatSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freshDatabaseUrl } from "@share-broker/testing";
import pg from "pg";
import { afterAll, describe, expect, it } from "vitest";
import { REPO_ROOT } from "../support/services.js";

// What the Dockerfile does to build a service's image, run here without a Docker engine: prune the
// workspace to the service, install it in full from the lockfile, take the builds (scripts/test.sh
// built them), then infra/docker/production-tree.sh, the same script the image runs.
const SCRIPT = join(REPO_ROOT, "infra", "docker", "production-tree.sh");
const DEV_ONLY = [
  "pino-pretty",
  "vitest",
  "vite",
  "tsx",
  "typescript",
  "testcontainers",
  "turbo",
  "@biomejs+biome",
];

const scratch: string[] = [];
afterAll(() => {
  for (const dir of scratch) rmSync(dir, { recursive: true, force: true });
});

function run(
  command: string,
  args: string[],
  cwd: string,
  env: NodeJS.ProcessEnv = process.env,
): SpawnSyncReturns<string> {
  const result = spawnSync(command, args, { cwd, env, encoding: "utf8", timeout: 120_000 });
  if (result.error) throw new Error(`${command} ${args.join(" ")} could not run: ${result.error.message}`);
  return result;
}

function mustRun(command: string, args: string[], cwd: string): void {
  const result = run(command, args, cwd);
  if (result.status !== 0) {
    throw new Error(
      `${command} ${args.join(" ")} exited ${result.status}:\n${result.stdout}\n${result.stderr}`,
    );
  }
}

/** The production tree of one service, built as the image builds it. */
function productionTreeOf(service: string): string {
  const work = mkdtempSync(join(tmpdir(), `share-broker-image-${service}-`));
  scratch.push(work);
  const pruned = join(work, "pruned");
  mustRun(
    join(REPO_ROOT, "node_modules", ".bin", "turbo"),
    ["prune", `@share-broker/${service}`, "--docker", "--out-dir", pruned],
    REPO_ROOT,
  );
  const workspace = join(work, "repo");
  cpSync(join(pruned, "full"), workspace, { recursive: true });
  cpSync(join(pruned, "pnpm-lock.yaml"), join(workspace, "pnpm-lock.yaml"));
  // --offline: the repository's own install filled the store; the image's install uses the registry.
  mustRun("pnpm", ["install", "--frozen-lockfile", "--offline", "--reporter=append-only"], workspace);
  for (const group of ["packages", "services"]) {
    for (const name of readdirSync(join(workspace, group))) {
      const built = join(REPO_ROOT, group, name, "dist");
      if (existsSync(built)) cpSync(built, join(workspace, group, name, "dist"), { recursive: true });
    }
  }
  const tree = join(work, "app");
  mustRun("sh", [SCRIPT, service, tree], workspace);
  return tree;
}

/** `name@version` of every package the lockfile resolves (peer-dependency suffixes dropped). */
function lockfilePackages(): Set<string> {
  const lockfile = readFileSync(join(REPO_ROOT, "pnpm-lock.yaml"), "utf8");
  const section = lockfile.slice(lockfile.indexOf("\npackages:\n"), lockfile.indexOf("\nsnapshots:\n"));
  const keys = [...section.matchAll(/^ {2}'?((?:@[^/\s]+\/)?[^@\s']+@[^(:'\s]+)/gm)].map(
    (match) => match[1] ?? "",
  );
  return new Set(keys);
}

// Read once for the three services' trees.
const LOCKED = lockfilePackages();

/**
 * `name@version` of every package installed in a tree's virtual store. Each store entry's
 * node_modules holds the package itself as a real folder and its dependencies as symlinks.
 */
function installedPackages(tree: string): string[] {
  const store = join(tree, "node_modules", ".pnpm");
  return readdirSync(store, { withFileTypes: true })
    .filter((entry) => entry.isDirectory() && entry.name !== "node_modules")
    .map((entry) => {
      const modules = join(store, entry.name, "node_modules");
      const folders = readdirSync(modules).flatMap((name) =>
        name.startsWith("@") ? readdirSync(join(modules, name)).map((inner) => `${name}/${inner}`) : [name],
      );
      const own = folders.find((name) => !lstatSync(join(modules, name)).isSymbolicLink());
      if (!own) throw new Error(`store entry ${entry.name} holds no package of its own`);
      const manifest = JSON.parse(readFileSync(join(modules, own, "package.json"), "utf8")) as {
        name: string;
        version: string;
      };
      return `${manifest.name}@${manifest.version}`;
    });
}

describe.each(["partner-a", "partner-b", "didit-sandbox"])("the %s image's runtime tree", (service) => {
  let tree: string;

  it("holds production dependencies only, each at exactly the lockfile's version", () => {
    tree = productionTreeOf(service);
    const installed = installedPackages(tree);
    expect(installed.length).toBeGreaterThan(10);
    for (const dev of DEV_ONLY) {
      expect(installed.filter((pkg) => pkg.startsWith(`${dev}@`))).toEqual([]);
    }
    expect(installed.filter((pkg) => !LOCKED.has(pkg))).toEqual([]);
    // No sources or tests: the image runs the builds.
    expect(existsSync(join(tree, "services", service, "src"))).toBe(false);
    expect(existsSync(join(tree, "packages", "service-kit", "src"))).toBe(false);
    expect(existsSync(join(tree, "packages", "testing"))).toBe(false);
  }, 180_000);

  it("runs its build with plain node: every module resolves, and a bad configuration is named", () => {
    const result = run(process.execPath, ["dist/server.js"], join(tree, "services", service), {
      PATH: process.env.PATH,
      NODE_ENV: "production",
    });
    expect(result.stderr).not.toContain("ERR_MODULE_NOT_FOUND");
    expect(result.status).toBe(1);
    expect(result.stderr).toMatch(/is missing: expected/);
  });

  // The sandbox keeps no database.
  if (service === "didit-sandbox") return;

  it("migrates a new database from its build", async () => {
    const databaseUrl = freshDatabaseUrl();
    const result = run(process.execPath, ["dist/migrate.js"], join(tree, "services", service), {
      PATH: process.env.PATH,
      NODE_ENV: "production",
      DATABASE_URL: databaseUrl,
    });
    expect({ status: result.status, stderr: result.stderr }).toEqual({ status: 0, stderr: "" });
    const client = new pg.Client({ connectionString: databaseUrl });
    await client.connect();
    try {
      const { rows } = await client.query<{ tables: string }>(
        "select count(*)::text as tables from information_schema.tables where table_schema = 'public'",
      );
      expect(Number(rows[0]?.tables)).toBeGreaterThan(3);
    } finally {
      await client.end();
    }
  });
});

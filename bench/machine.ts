import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import os from "node:os";
import { join } from "node:path";
import { Redis } from "ioredis";
import pg from "pg";
import { ADMIN_DATABASE_URL, REDIS_URL, REPO_ROOT, serviceDir } from "./world.js";

export interface MachineInfo {
  cores: number;
  cpuModel: string;
  memoryGiB: number;
  kernel: string;
  loadAverageAtStart: number[];
  node: string;
  postgres: string;
  postgresSettings: Record<string, string>;
  redis: string;
  redisSettings: Record<string, string>;
  packages: Record<string, string>;
  commit: string;
}

/** Where the product's dependencies are declared (pnpm resolves each only from its declarer). */
const DECLARERS = [
  serviceDir("partner-a"),
  join(REPO_ROOT, "packages/channel"),
  join(REPO_ROOT, "packages/didit"),
  join(REPO_ROOT, "packages/service-kit"),
];

function packageVersion(name: string): string {
  for (const dir of DECLARERS) {
    try {
      const entry = createRequire(join(dir, "package.json")).resolve(name);
      const marker = `node_modules/${name}/`;
      const root = entry.slice(0, entry.lastIndexOf(marker) + marker.length);
      return (JSON.parse(readFileSync(join(root, "package.json"), "utf8")) as { version: string }).version;
    } catch {
      // not declared here
    }
  }
  return "?";
}

export async function describeMachine(): Promise<MachineInfo> {
  const client = new pg.Client({ connectionString: ADMIN_DATABASE_URL });
  await client.connect();
  const postgres = (await client.query<{ server_version: string }>("show server_version")).rows[0]
    ?.server_version;
  const postgresSettings: Record<string, string> = {};
  for (const name of ["max_connections", "shared_buffers", "synchronous_commit", "fsync"]) {
    const { rows } = await client.query(`show ${name}`);
    postgresSettings[name] = String(Object.values(rows[0] ?? {})[0]);
  }
  await client.end();
  const redis = new Redis(REDIS_URL);
  const info = await redis.info("server");
  const redisSettings: Record<string, string> = {};
  for (const name of ["appendonly", "save", "maxmemory-policy"]) {
    const answer = (await redis.config("GET", name)) as string[];
    redisSettings[name] = answer[1] ?? "";
  }
  redis.disconnect();
  let commit = "unknown";
  try {
    commit = execFileSync("git", ["rev-parse", "--short", "HEAD"], {
      cwd: REPO_ROOT,
      encoding: "utf8",
    }).trim();
    const dirty = execFileSync("git", ["status", "--porcelain", "--", "services", "packages"], {
      cwd: REPO_ROOT,
      encoding: "utf8",
    }).trim();
    if (dirty) commit += " (+ uncommitted changes in services/packages)";
  } catch {
    // not a git checkout
  }
  const cpus = os.cpus();
  return {
    cores: cpus.length,
    cpuModel: cpus[0]?.model ?? "?",
    memoryGiB: os.totalmem() / 1024 ** 3,
    kernel: os.release(),
    loadAverageAtStart: os.loadavg(),
    node: process.version,
    postgres: postgres ?? "?",
    postgresSettings,
    redis: /redis_version:(\S+)/.exec(info)?.[1] ?? "?",
    redisSettings,
    packages: Object.fromEntries(
      ["fastify", "bullmq", "ioredis", "pg", "drizzle-orm", "jose", "undici"].map((name) => [
        name,
        packageVersion(name),
      ]),
    ),
    commit,
  };
}

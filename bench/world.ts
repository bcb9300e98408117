import { spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { generatePartnerKeys, writePartnerKeyFiles } from "@share-broker/channel";
import {
  freePort,
  partnerRegistryEntry,
  sandboxApplication,
  writeJsonFile,
} from "@share-broker/testing/world-files";
import { Redis } from "ioredis";
import pg from "pg";

export const REPO_ROOT = fileURLToPath(new URL("..", import.meta.url));
export const serviceDir = (name: string) => join(REPO_ROOT, "services", name);

/** Where the benchmark may create databases, and the Redis it measures. */
export const ADMIN_DATABASE_URL =
  process.env.BENCH_DATABASE_URL ?? process.env.DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/postgres";
export const REDIS_URL = process.env.BENCH_REDIS_URL ?? process.env.REDIS_URL ?? "redis://127.0.0.1:6379";

/** The Didit applications of a benchmark world (fixed ids; the world is isolated by its sandbox). */
export const apps = {
  "partner-a": {
    id: "0a000000-0000-4000-8000-00000000000a",
    apiKey: "bench-didit-key-a-0001",
    webhookSecret: "bench-webhook-secret-a-0001",
    kyc: "0a000000-0000-4000-8000-0000000000a1",
    reusableKyc: "0a000000-0000-4000-8000-0000000000a2",
  },
  "partner-b": {
    id: "0b000000-0000-4000-8000-00000000000b",
    apiKey: "bench-didit-key-b-0001",
    webhookSecret: "bench-webhook-secret-b-0001",
    kyc: "0b000000-0000-4000-8000-0000000000b1",
    reusableKyc: "0b000000-0000-4000-8000-0000000000b2",
  },
} as const;
export type PartnerId = keyof typeof apps;

export const CONTROL_KEY = "bench-sandbox-control-key-0001";
export const API_KEYS: Record<PartnerId, string> = {
  "partner-a": "bench-partner-a-api-key-000001",
  "partner-b": "bench-partner-b-api-key-000001",
};
export const PSEUDONYM_SECRET = "bench-pseudonym-secret-000001";

export interface BenchWorld {
  id: string;
  dir: string;
  /** BullMQ prefix of the product's channel and of the bare baseline's queues. */
  prefix: string;
  ports: { sandbox: number; "partner-a": number; "partner-b": number; bare: number };
  applicationsFile: string;
  partnersFile: string;
  policiesFile: string;
  keysDir: (partner: PartnerId) => string;
  databases: { a: string; b: string; bareA: string; bareB: string };
}

function databaseUrl(name: string): string {
  const url = new URL(ADMIN_DATABASE_URL);
  url.pathname = `/${name}`;
  return url.toString();
}

async function admin<T>(work: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: ADMIN_DATABASE_URL });
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}

/** Runs the service's own migration entry point (the build's `dist/migrate.js`) on a new database. */
function migrate(service: "partner-a" | "partner-b", url: string): void {
  const result = spawnSync(process.execPath, ["dist/migrate.js"], {
    cwd: serviceDir(service),
    env: { PATH: process.env.PATH ?? "", SHARE_BROKER_NO_DEV_ENV: "1", DATABASE_URL: url },
    encoding: "utf8",
  });
  if (result.status !== 0) throw new Error(`migrating ${service} failed:\n${result.stderr}${result.stdout}`);
}

/**
 * One isolated set-up: its own folder (sandbox applications, partner registry, partner-b's policy,
 * envelope keys), its own databases (migrated), its own queue prefix and ports.
 */
export async function createWorld(): Promise<BenchWorld> {
  const id = randomBytes(3).toString("hex");
  const dir = mkdtempSync(join(tmpdir(), "share-broker-bench-"));
  const ports = {
    sandbox: await freePort(),
    "partner-a": await freePort(),
    "partner-b": await freePort(),
    bare: await freePort(),
  };
  const keysDir = (partner: PartnerId) => join(dir, "keys", partner);
  const partners = Object.keys(apps) as PartnerId[];
  for (const partner of partners) {
    await writePartnerKeyFiles(keysDir(partner), {
      partner_id: partner,
      current: await generatePartnerKeys(partner),
    });
  }
  const applicationsFile = writeJsonFile(join(dir, "applications.json"), {
    applications: partners.map((partner) =>
      sandboxApplication(apps[partner], partner, `http://127.0.0.1:${ports[partner]}/v1/webhooks/didit`, [
        { workflow_id: apps[partner].kyc, name: "first_verification", kind: "kyc" },
        { workflow_id: apps[partner].reusableKyc, name: "reusable_kyc", kind: "reusable_kyc" },
      ]),
    ),
  });
  const partnersFile = writeJsonFile(join(dir, "partners.json"), {
    partners: partners.map((partner) =>
      partnerRegistryEntry(partner, apps[partner].id, join(keysDir(partner), "public.jwks.json")),
    ),
  });
  const policiesFile = join(dir, "partner-b-policies.json");
  const bWorkflow = apps["partner-b"].kyc;
  writeFileSync(
    policiesFile,
    JSON.stringify({
      version: "bench-1",
      default: { workflow_id: bWorkflow, trust_review: false },
      rules: [{ source: "partner-a", scope: "kyc", workflow_id: bWorkflow, trust_review: true }],
    }),
  );
  const names = {
    a: `bench_${id}_a`,
    b: `bench_${id}_b`,
    bareA: `bench_${id}_bare_a`,
    bareB: `bench_${id}_bare_b`,
  };
  await admin(async (client) => {
    for (const name of Object.values(names)) await client.query(`create database "${name}"`);
  });
  const databases = {
    a: databaseUrl(names.a),
    b: databaseUrl(names.b),
    bareA: databaseUrl(names.bareA),
    bareB: databaseUrl(names.bareB),
  };
  migrate("partner-a", databases.a);
  migrate("partner-b", databases.b);
  return {
    id,
    dir,
    prefix: `{bench-${id}}`,
    ports,
    applicationsFile,
    partnersFile,
    policiesFile,
    keysDir,
    databases,
  };
}

/** Drops the world's databases, deletes its Redis keys and its folder. */
export async function destroyWorld(world: BenchWorld): Promise<void> {
  await admin(async (client) => {
    for (const url of Object.values(world.databases)) {
      const name = new URL(url).pathname.slice(1);
      await client.query(`drop database if exists "${name}" with (force)`);
    }
  });
  await deleteKeys(world.prefix);
  rmSync(world.dir, { recursive: true, force: true });
}

async function deleteKeys(prefix: string): Promise<void> {
  const redis = new Redis(REDIS_URL);
  try {
    let cursor = "0";
    do {
      const [next, keys] = await redis.scan(cursor, "MATCH", `${prefix}:*`, "COUNT", 1000);
      cursor = next;
      if (keys.length) await redis.unlink(...keys);
    } while (cursor !== "0");
  } finally {
    redis.disconnect();
  }
}

/** Whether the PostgreSQL server vacuums on its own (`autovacuum`); CI machines may turn it off. */
export async function autovacuumIsOn(): Promise<boolean> {
  return admin(async (client) => (await client.query("show autovacuum")).rows[0]?.autovacuum === "on");
}

/**
 * VACUUM (ANALYZE) of every database of the world. On a server without autovacuum, the outboxes'
 * insert-then-delete rows and the shares' updates leave dead tuples that every later claim walks
 * past, so each run would measure the leftovers of the runs before it: a production server's
 * autovacuum clears them between bursts. Returns the seconds it took (not part of any run).
 */
export async function vacuumWorld(world: BenchWorld): Promise<number> {
  const from = Date.now();
  for (const url of Object.values(world.databases)) {
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    try {
      await client.query("vacuum (analyze)");
    } finally {
      await client.end();
    }
  }
  return (Date.now() - from) / 1000;
}

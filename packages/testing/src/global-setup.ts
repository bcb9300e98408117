import { randomBytes } from "node:crypto";
import pg from "pg";
import type { TestProject } from "vitest/node";
import { DEFAULT_POSTGRES_URL, DEFAULT_REDIS_URL, isReachable, type TestInfra } from "./infra.js";

declare module "vitest" {
  export interface ProvidedContext {
    testInfra: TestInfra;
  }
}

const HOW_TO_START = `Start them locally, for example on Debian:
  pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start
  redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no
or point DATABASE_URL (a Postgres server where tests may create databases) and REDIS_URL at running servers,
or run a Docker engine so the tests can start containers themselves.`;

type Stop = () => Promise<void>;
const stops: Stop[] = [];

async function fromContainers(): Promise<{ postgresUrl: string; redisUrl: string } | undefined> {
  let testcontainers: typeof import("testcontainers");
  try {
    testcontainers = await import("testcontainers");
    await testcontainers.getContainerRuntimeClient();
  } catch {
    return undefined;
  }
  const postgres = await new testcontainers.GenericContainer("postgres:16-alpine")
    .withEnvironment({ POSTGRES_HOST_AUTH_METHOD: "trust" })
    .withExposedPorts(5432)
    .withWaitStrategy(testcontainers.Wait.forLogMessage(/database system is ready to accept connections/, 2))
    .start();
  stops.push(async () => void (await postgres.stop()));
  const redis = await new testcontainers.GenericContainer("redis:7-alpine").withExposedPorts(6379).start();
  stops.push(async () => void (await redis.stop()));
  return {
    postgresUrl: `postgres://postgres@${postgres.getHost()}:${postgres.getMappedPort(5432)}/postgres`,
    redisUrl: `redis://${redis.getHost()}:${redis.getMappedPort(6379)}`,
  };
}

/**
 * Postgres and Redis for the whole run: from DATABASE_URL / REDIS_URL when given, else the local
 * servers, else containers when a Docker engine exists, else a message saying what to start.
 */
export async function setup(project: TestProject): Promise<() => Promise<void>> {
  const postgresUrl = process.env.DATABASE_URL ?? DEFAULT_POSTGRES_URL;
  const redisUrl = process.env.REDIS_URL ?? DEFAULT_REDIS_URL;
  const runId = `sbt_${randomBytes(4).toString("hex")}`;
  const [pgUp, redisUp] = await Promise.all([isReachable(postgresUrl), isReachable(redisUrl)]);
  if (pgUp && redisUp) {
    project.provide("testInfra", { postgresUrl, redisUrl, runId });
    return () => teardown({ postgresUrl, redisUrl, runId });
  }
  const explicit = process.env.DATABASE_URL !== undefined || process.env.REDIS_URL !== undefined;
  const containers = explicit ? undefined : await fromContainers();
  if (containers) {
    project.provide("testInfra", { ...containers, runId });
    return () => teardown({ ...containers, runId });
  }
  const missing = [!pgUp && `PostgreSQL at ${postgresUrl}`, !redisUp && `Redis at ${redisUrl}`].filter(
    Boolean,
  );
  throw new Error(
    `Tests need real PostgreSQL and Redis. Not reachable: ${missing.join(", ")}.\n${HOW_TO_START}`,
  );
}

/** Drops every database this run created, then stops containers it started. */
async function teardown(infra: TestInfra): Promise<void> {
  {
    const client = new pg.Client({ connectionString: infra.postgresUrl });
    await client.connect();
    try {
      const { rows } = await client.query<{ datname: string }>(
        "select datname from pg_database where datname like $1",
        [`${infra.runId}%`],
      );
      for (const { datname } of rows) await client.query(`drop database if exists "${datname}" with (force)`);
    } finally {
      await client.end();
    }
  }
  for (const stop of stops.reverse()) await stop();
}

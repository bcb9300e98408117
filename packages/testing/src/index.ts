export { type CommandOptions, type CommandRun, runToExit, userEnvironment } from "./commands.js";
export { createTestDatabase, freshDatabaseUrl, type TestDatabase } from "./databases.js";
export { readJson } from "./http.js";
export { DEFAULT_POSTGRES_URL, DEFAULT_REDIS_URL, isReachable, type TestInfra } from "./infra.js";
export { capturedLog, metricValue } from "./observability.js";
export {
  freePort,
  type ServiceProcess,
  type ServiceProcessOptions,
  startServiceProcess,
} from "./processes.js";
export {
  accessPathsOf,
  expectReadsByPrimaryKey,
  preparedStatementsOf,
  type SentStatement,
} from "./query-plans.js";
export { testPostgresUrl, testRedisUrl, uniqueQueuePrefix } from "./queues.js";
export {
  createTlsMaterial,
  type RedisServer,
  type RedisServerOptions,
  startRedisServer,
  type TlsMaterial,
} from "./redis-servers.js";
export {
  partnerRegistryEntry,
  sandboxApplication,
  type WorldApplication,
  type WorldWorkflow,
  writeJsonFile,
} from "./world-files.js";

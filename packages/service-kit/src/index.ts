export { type AppOptions, createApp } from "./app.js";
export {
  ApiKeyVerifier,
  authenticate,
  bearerToken,
  type Principal,
  type PrincipalEntry,
  PrincipalVerifier,
  principalsFromKeys,
  requireApiKey,
  requireScope,
  sha256Hex,
} from "./auth.js";
export { DrainLoop, PeriodicTask } from "./background.js";
export {
  BATCH_FALLBACKS_METRIC,
  type BatchCatalog,
  BatchFallbacks,
  safeErrorFields,
} from "./batch-fallbacks.js";
export { amongIdsInStates } from "./batch-lookup.js";
export { type Clock, systemClock } from "./clock.js";
export {
  baseServiceEnv,
  ConfigError,
  env,
  loadConfig,
  loadConfigOrExit,
  rateLimitEnv,
  retentionEnv,
} from "./config.js";
export {
  createDrizzle,
  createPgPool,
  ensureDatabase,
  maintenanceUrl,
  migrateDatabase,
  type NodePgDatabase,
  oneOf,
  postgresErrorCode,
  postgresReadiness,
} from "./db.js";
export { applyDevelopmentEnv, findRepoRoot } from "./dev-env.js";
export {
  AppError,
  answerError,
  type ErrorBody,
  ErrorCode,
  errorBodySchema,
  handleError,
  toAppError,
} from "./errors.js";
export { failpoint } from "./failpoints.js";
export { GroupCommit, GroupCommitMismatch } from "./group-commit.js";
export type { ReadinessCheck } from "./health.js";
export {
  createLogger,
  isSecretKey,
  type Logger,
  REDACTED,
  redactDeep,
  secretScrubbingStream,
} from "./logger.js";
export { createLabelledCounter, createMetricsRegistry, type LabelledCounter } from "./metrics.js";
export { DOCS_PATH, OPENAPI_PATH, type OpenApiInfo } from "./openapi.js";
export { executePrepared } from "./prepared-statements.js";
export { currentPrincipalName, runAsPrincipal } from "./principal-context.js";
export { readPrincipalsFile, resolvePrincipals, resolvePrincipalsOrExit } from "./principals-file.js";
export {
  type RawBodyRouteOptions,
  registerRawBodyRoute,
  WEBHOOK_BODY_LIMIT_BYTES,
} from "./raw-body-route.js";
export { columnsOf, rowMapper } from "./raw-rows.js";
export { createRedis, type RedisProfile, redisReadiness } from "./redis.js";
export { REQUEST_ID_HEADER } from "./request-id.js";
export {
  auditEventsRetention,
  RETENTION_DELETED_METRIC,
  RETENTION_FAILURES_METRIC,
  type RetentionOptions,
  type RetentionRule,
  TableRetention,
} from "./retention.js";
export { type RunOptions, runService } from "./server.js";
export { type Closer, installGracefulShutdown, type ShutdownOptions } from "./shutdown.js";
export { hasZodSchema, isZodSchema, typedRoutes } from "./zod-routes.js";

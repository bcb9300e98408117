import {
  createEnvelopeOpener,
  createEnvelopeSealer,
  ensureDevelopmentKeys,
  loadPartnerPrivateKeys,
  loadPartnerRegistry,
} from "@share-broker/channel";
import { DiditClient } from "@share-broker/didit";
import {
  applyDevelopmentEnv,
  BatchFallbacks,
  createDrizzle,
  createLogger,
  createMetricsRegistry,
  createPgPool,
  createRedis,
  loadConfigOrExit,
  postgresReadiness,
  redisReadiness,
  resolvePrincipalsOrExit,
  runService,
  systemClock,
  TableRetention,
} from "@share-broker/service-kit";
import { buildPartnerAApp } from "./app.js";
import { AuditLog } from "./audit/audit-log.js";
import { Pseudonymizer } from "./audit/pseudonym.js";
import { PARTNER_A_BATCHES } from "./batches.js";
import { startImportResultsConsumer } from "./channel/import-results-consumer.js";
import { createOutboundChannel } from "./channel/outbound-channel.js";
import { ResultRefusals } from "./channel/result-refusals.js";
import { partnerAConfigSchema, SERVICE_NAME } from "./config.js";
import * as schema from "./db/schema/index.js";
import { partnerARetentionRules } from "./retention/retention-rules.js";
import { ShareAcceptor } from "./shares/accept-share.js";
import { ShareDispatcher } from "./shares/share-dispatcher.js";
import { ShareReconciler } from "./shares/share-reconciler.js";

const devEnvFile = applyDevelopmentEnv(SERVICE_NAME);
const config = loadConfigOrExit(SERVICE_NAME, partnerAConfigSchema);
// Before anything else starts: a bad API_KEYS_FILE stops the process with one line per problem.
resolvePrincipalsOrExit(SERVICE_NAME, config);
const logger = createLogger({
  service: SERVICE_NAME,
  level: config.LOG_LEVEL,
  secrets: [
    ...(config.API_KEYS ?? []),
    config.DIDIT_API_KEY,
    config.DIDIT_WEBHOOK_SECRET,
    config.PSEUDONYM_SECRET,
  ],
});
if (devEnvFile) logger.warn({ file: devEnvFile }, "using development defaults for unset variables");

// Envelope keys: generated on first run in development, required as files in production.
const keys =
  process.env.NODE_ENV === "production"
    ? await loadPartnerPrivateKeys(config.KEYS_DIR)
    : (await ensureDevelopmentKeys(config.KEYS_DIR, config.PARTNER_ID)).keys;
const registry = await loadPartnerRegistry(config.PARTNERS_FILE);
registry.get(config.PARTNER_ID);

const pool = createPgPool(config.DATABASE_URL, { applicationName: SERVICE_NAME, max: 20 });
const db = createDrizzle(pool, schema);
const producerRedis = createRedis(config.REDIS_URL, "producer", logger);
const workerRedis = createRedis(config.REDIS_URL, "worker", logger);
const didit = new DiditClient({ baseUrl: config.DIDIT_BASE_URL, apiKey: config.DIDIT_API_KEY });
const pseudonyms = new Pseudonymizer(config.PSEUDONYM_SECRET);
const audit = new AuditLog(pseudonyms);
const clock = systemClock;
// Made before the app: the objects built below count into the registry its /metrics serves.
const metricsRegistry = createMetricsRegistry(SERVICE_NAME);
const fallbacks = new BatchFallbacks(metricsRegistry, logger, PARTNER_A_BATCHES);

const channel = createOutboundChannel({
  registry,
  sealer: createEnvelopeSealer({ self: config.PARTNER_ID, keys, registry }),
  redis: producerRedis,
  prefix: config.QUEUE_PREFIX,
  logger,
});
const dispatcher = new ShareDispatcher(
  { db, didit, channel, registry, audit, pseudonyms, clock, logger, fallbacks },
  {
    concurrency: config.DISPATCH_CONCURRENCY,
    leaseSeconds: config.DISPATCH_LEASE_SECONDS,
    pollMs: config.DISPATCH_POLL_MS,
    maxAttempts: config.DISPATCH_MAX_ATTEMPTS,
  },
);
const reconciler = new ShareReconciler(
  { db, channel, audit, logger, wake: () => dispatcher.wake() },
  {
    intervalMs: config.RECONCILE_INTERVAL_MS,
    resultGraceSeconds: config.RESULT_GRACE_SECONDS,
    redriveAfterSeconds: config.REDRIVE_AFTER_SECONDS,
    maxRedrives: 3,
  },
);
const results = startImportResultsConsumer({
  db,
  audit,
  opener: createEnvelopeOpener({ self: config.PARTNER_ID, keys, registry }),
  connection: workerRedis,
  producerConnection: producerRedis,
  queueName: registry.get(config.PARTNER_ID).resultsQueue,
  prefix: config.QUEUE_PREFIX,
  concurrency: config.DISPATCH_CONCURRENCY,
  logger,
  fallbacks,
  refusals: new ResultRefusals(metricsRegistry, logger),
  deadLetterLimits: {
    maxAgeSeconds: config.DEAD_LETTER_MAX_AGE_DAYS * 86_400,
    maxCount: config.DEAD_LETTER_MAX_COUNT,
  },
});
const retention = new TableRetention(
  pool,
  partnerARetentionRules(config),
  {
    batchSize: config.RETENTION_BATCH_SIZE,
    maxBatchesPerPass: 100,
    intervalMs: config.RETENTION_INTERVAL_MS,
  },
  logger,
  metricsRegistry,
);

const app = await buildPartnerAApp(
  {
    config,
    logger,
    db,
    didit,
    registry,
    audit,
    pseudonyms,
    clock,
    dispatcher,
    rateLimitRedis: config.RATE_LIMIT_STORE === "redis" ? producerRedis : undefined,
    shares: new ShareAcceptor(db, audit, fallbacks),
  },
  { postgres: postgresReadiness(pool), redis: redisReadiness(producerRedis) },
  metricsRegistry,
);
dispatcher.start();
reconciler.start();
retention.start();

await runService({
  app,
  logger,
  host: config.HOST,
  port: config.PORT,
  opsPort: config.OPS_PORT,
  shutdownTimeoutMs: config.SHUTDOWN_TIMEOUT_MS,
  // Intake first (HTTP, by runService), then the workers finish their current jobs, then the
  // connections they used close.
  closers: [
    { name: "retention", close: () => retention.stop() },
    { name: "reconciler", close: () => reconciler.stop() },
    { name: "dispatcher", close: () => dispatcher.stop() },
    { name: "results-consumer", close: () => results.close() },
    { name: "channel", close: () => channel.close() },
    { name: "didit", close: () => didit.close() },
    { name: "redis", close: () => Promise.all([producerRedis.quit(), workerRedis.quit()]) },
    { name: "postgres", close: () => pool.end() },
  ],
});

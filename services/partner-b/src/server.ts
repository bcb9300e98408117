import { isAbsolute, join } from "node:path";
import { createDeadLetterQueue, createInboxRevocations, loadPartnerRegistry } from "@share-broker/channel";
import { DiditClient } from "@share-broker/didit";
import {
  applyDevelopmentEnv,
  BatchFallbacks,
  createDrizzle,
  createLogger,
  createMetricsRegistry,
  createPgPool,
  createRedis,
  findRepoRoot,
  loadConfigOrExit,
  postgresReadiness,
  redisReadiness,
  resolvePrincipalsOrExit,
  runService,
  systemClock,
  TableRetention,
} from "@share-broker/service-kit";
import { buildPartnerBApp } from "./app.js";
import { AuditLog } from "./audit/audit-log.js";
import { PARTNER_B_BATCHES } from "./batches.js";
import { loadEnvelopeCrypto } from "./channel/envelope-keys.js";
import { createInboxWorker } from "./channel/inbox-worker.js";
import { ResultsChannel } from "./channel/results-channel.js";
import { partnerBConfigSchema, SERVICE_NAME } from "./config.js";
import * as schema from "./db/schema/index.js";
import { ImportReconciler } from "./imports/import-reconciler.js";
import { ImportStore } from "./imports/import-store.js";
import { ShareImporter } from "./imports/share-importer.js";
import { loadImportPolicy } from "./policies/import-policy.js";
import { ResultSender } from "./results/result-sender.js";
import { partnerBRetentionRules } from "./retention/retention-rules.js";

const devEnvFile = applyDevelopmentEnv(SERVICE_NAME);
const config = loadConfigOrExit(SERVICE_NAME, partnerBConfigSchema);
// Before anything else starts: a bad API_KEYS_FILE stops the process with one line per problem.
resolvePrincipalsOrExit(SERVICE_NAME, config);
const logger = createLogger({
  service: SERVICE_NAME,
  level: config.LOG_LEVEL,
  secrets: [...(config.API_KEYS ?? []), config.DIDIT_API_KEY, config.DIDIT_WEBHOOK_SECRET],
});
if (devEnvFile) logger.warn({ file: devEnvFile }, "using development defaults for unset variables");
const production = process.env.NODE_ENV === "production";

/** Files that cannot be read or are invalid stop the service before it listens, with one clear line. */
async function orExit<T>(what: string, load: () => Promise<T>): Promise<T> {
  try {
    return await load();
  } catch (error) {
    process.stderr.write(`${SERVICE_NAME}: cannot start, ${what}: ${(error as Error).message}\n`);
    process.exit(1);
  }
}

const fromRepoRoot = (path: string) =>
  isAbsolute(path) ? path : join(findRepoRoot() ?? process.cwd(), path);
const registry = await orExit("partner registry", () => loadPartnerRegistry(config.PARTNERS_FILE));
const self = await orExit("partner registry", async () => registry.get(config.PARTNER_ID));
const policy = await orExit("import policy", () => loadImportPolicy(fromRepoRoot(config.POLICIES_FILE)));
const envelopes = await orExit("envelope keys", () =>
  loadEnvelopeCrypto({
    partnerId: config.PARTNER_ID,
    keysDir: config.KEYS_DIR,
    registry,
    production,
    logger,
  }),
);

const pool = createPgPool(config.DATABASE_URL, { applicationName: SERVICE_NAME });
const db = createDrizzle(pool, schema);
const producerRedis = createRedis(config.REDIS_URL, "producer", logger);
const workerRedis = createRedis(config.REDIS_URL, "worker", logger);
const didit = new DiditClient({
  baseUrl: config.DIDIT_BASE_URL,
  apiKey: config.DIDIT_API_KEY,
  // Only reads are retried by the client; the importer schedules its own retries of import-shared.
  maxRetries: 2,
  maxRetryDelayMs: 10_000,
});
const audit = new AuditLog();
// Made before the app: the objects built below count into the registry its /metrics serves.
const metricsRegistry = createMetricsRegistry(SERVICE_NAME);
const fallbacks = new BatchFallbacks(metricsRegistry, logger, PARTNER_B_BATCHES);
const store = new ImportStore(db, audit, fallbacks);

const resultsChannel = new ResultsChannel({
  connection: producerRedis,
  prefix: config.QUEUE_PREFIX,
  registry,
  logger,
});
const resultSender = new ResultSender(
  { db, sealer: envelopes.sealer, channel: resultsChannel, audit, logger, fallbacks },
  {
    batchSize: 32,
    leaseSeconds: config.RESULT_LEASE_SECONDS,
    pollMs: config.RESULT_POLL_MS,
    envelopeTtlSeconds: config.RESULT_TTL_SECONDS,
  },
);
const wakeResults = () => resultSender.wake();
const deadLetter = createDeadLetterQueue({
  connection: producerRedis,
  queueName: self.inboxQueue,
  prefix: config.QUEUE_PREFIX,
  logger,
  maxAgeSeconds: config.DEAD_LETTER_MAX_AGE_DAYS * 86_400,
  maxCount: config.DEAD_LETTER_MAX_COUNT,
});
const revocations = createInboxRevocations({
  connection: producerRedis,
  queueName: self.inboxQueue,
  prefix: config.QUEUE_PREFIX,
  logger,
});
const importer = new ShareImporter(
  {
    db,
    store,
    didit,
    opener: envelopes.opener,
    deadLetter,
    policy,
    audit,
    clock: systemClock,
    logger,
    self,
    wakeResults,
    revocations,
  },
  {
    inboxQueue: self.inboxQueue,
    leaseSeconds: config.IMPORT_LEASE_SECONDS,
    retryBaseMs: config.IMPORT_RETRY_BASE_MS,
    retryMaxMs: config.IMPORT_RETRY_MAX_MS,
  },
);
const inboxWorker = createInboxWorker({
  connection: workerRedis,
  queueName: self.inboxQueue,
  prefix: config.QUEUE_PREFIX,
  concurrency: config.INBOX_CONCURRENCY,
  lockDurationMs: config.INBOX_LOCK_MS,
  stalledIntervalMs: config.INBOX_STALLED_INTERVAL_MS,
  handle: (job, token) => importer.handle(job, token),
  logger,
});
const reconciler = new ImportReconciler(
  { db, didit, store, audit, logger, wakeResults },
  {
    intervalMs: config.RECONCILE_INTERVAL_MS,
    graceSeconds: config.STALE_IMPORT_GRACE_SECONDS,
    leaseSeconds: config.IMPORT_LEASE_SECONDS,
  },
);
const retention = new TableRetention(
  pool,
  partnerBRetentionRules(config),
  {
    batchSize: config.RETENTION_BATCH_SIZE,
    maxBatchesPerPass: 100,
    intervalMs: config.RETENTION_INTERVAL_MS,
  },
  logger,
  metricsRegistry,
);

const app = await buildPartnerBApp(
  {
    config,
    logger,
    db,
    didit,
    registry,
    self,
    policy,
    audit,
    clock: systemClock,
    results: { wake: wakeResults },
    rateLimitRedis: config.RATE_LIMIT_STORE === "redis" ? producerRedis : undefined,
  },
  { postgres: postgresReadiness(pool), redis: redisReadiness(producerRedis) },
  metricsRegistry,
);

await runService({
  app,
  logger,
  host: config.HOST,
  port: config.PORT,
  opsPort: config.OPS_PORT,
  shutdownTimeoutMs: config.SHUTDOWN_TIMEOUT_MS,
  closers: [
    { name: "inbox-worker", close: () => inboxWorker.close() },
    { name: "import-reconciler", close: () => reconciler.stop() },
    { name: "result-sender", close: () => resultSender.stop() },
    { name: "retention", close: () => retention.stop() },
    {
      name: "queues",
      close: () => Promise.all([resultsChannel.close(), deadLetter.close(), revocations.close()]),
    },
    { name: "didit", close: () => didit.close() },
    { name: "redis", close: () => Promise.all([workerRedis.quit(), producerRedis.quit()]) },
    { name: "postgres", close: () => pool.end() },
  ],
});

inboxWorker.run().catch((error) => logger.error({ err: error }, "inbox worker stopped"));
resultSender.start();
reconciler.start();
retention.start();
logger.info(
  { partner_id: self.partnerId, inbox_queue: self.inboxQueue, policy_version: policy.version },
  "importing share offers",
);

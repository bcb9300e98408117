import {
  applyDevelopmentEnv,
  createLogger,
  createPgPool,
  createRedis,
  loadConfigOrExit,
  runService,
} from "@share-broker/service-kit";
import { buildPartnerAApp } from "./app.js";
import { partnerAConfigSchema, SERVICE_NAME } from "./config.js";

const devEnvFile = applyDevelopmentEnv(SERVICE_NAME);
const config = loadConfigOrExit(SERVICE_NAME, partnerAConfigSchema);
const logger = createLogger({
  service: SERVICE_NAME,
  level: config.LOG_LEVEL,
  secrets: [...config.API_KEYS, config.DIDIT_API_KEY, config.DIDIT_WEBHOOK_SECRET],
});
if (devEnvFile) logger.warn({ file: devEnvFile }, "using development defaults for unset variables");

const pool = createPgPool(config.DATABASE_URL, { applicationName: SERVICE_NAME });
const redis = createRedis(config.REDIS_URL, "producer", logger);
const app = await buildPartnerAApp({ config, logger, pool, redis });

await runService({
  app,
  logger,
  host: config.HOST,
  port: config.PORT,
  shutdownTimeoutMs: config.SHUTDOWN_TIMEOUT_MS,
  closers: [
    { name: "redis", close: () => redis.quit() },
    { name: "postgres", close: () => pool.end() },
  ],
});

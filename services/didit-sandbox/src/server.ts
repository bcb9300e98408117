import { applyDevelopmentEnv, createLogger, loadConfigOrExit, runService } from "@share-broker/service-kit";
import { buildSandboxApp } from "./app.js";
import { ApplicationsFileError, loadApplications, type SandboxApplication } from "./applications.js";
import { SERVICE_NAME, sandboxConfigSchema } from "./config.js";

const devEnvFile = applyDevelopmentEnv(SERVICE_NAME);
const config = loadConfigOrExit(SERVICE_NAME, sandboxConfigSchema);

let applications: SandboxApplication[];
try {
  applications = loadApplications(config.SANDBOX_CONFIG);
} catch (error) {
  if (!(error instanceof ApplicationsFileError)) throw error;
  process.stderr.write(`${SERVICE_NAME}: cannot start: ${error.message}\n`);
  process.exit(1);
}

const logger = createLogger({
  service: SERVICE_NAME,
  level: config.LOG_LEVEL,
  secrets: [
    config.SANDBOX_CONTROL_KEY,
    ...applications.flatMap((application) => [application.api_key, application.webhook_secret]),
  ],
});
if (devEnvFile) logger.warn({ file: devEnvFile }, "using development defaults for unset variables");

const app = await buildSandboxApp({ config, logger, applications });
await runService({
  app,
  logger,
  host: config.HOST,
  port: config.PORT,
  opsPort: config.OPS_PORT,
  shutdownTimeoutMs: config.SHUTDOWN_TIMEOUT_MS,
  closers: [],
});

import { applyDevelopmentEnv, createLogger, loadConfigOrExit, runService } from "@share-broker/service-kit";
import { buildConsoleApp } from "./app.js";
import { consoleConfigSchema, isLoopbackHost, SERVICE_NAME } from "./config.js";
import { PartnerApi } from "./partner-api.js";

const devEnvFile = applyDevelopmentEnv(SERVICE_NAME);
const config = loadConfigOrExit(SERVICE_NAME, consoleConfigSchema);
if (!config.CONSOLE_ALLOW_REMOTE && !isLoopbackHost(config.HOST)) {
  process.stderr.write(
    `${SERVICE_NAME}: cannot start: HOST=${config.HOST} is not a loopback address. The console asks no ` +
      "credential and shows partner data; set CONSOLE_ALLOW_REMOTE=1 only where the port is not reachable " +
      "by others (a container publishing it on 127.0.0.1).\n",
  );
  process.exit(1);
}
const logger = createLogger({
  service: SERVICE_NAME,
  level: config.LOG_LEVEL,
  secrets: [config.PARTNER_A_API_KEY, config.PARTNER_B_API_KEY],
});
if (devEnvFile) logger.warn({ file: devEnvFile }, "using development defaults for unset variables");

const partners = {
  a: new PartnerApi({ name: "partner-a", baseUrl: config.PARTNER_A_URL, apiKey: config.PARTNER_A_API_KEY }),
  b: new PartnerApi({ name: "partner-b", baseUrl: config.PARTNER_B_URL, apiKey: config.PARTNER_B_API_KEY }),
};
const app = await buildConsoleApp({ config, logger, partners });
await runService({
  app,
  logger,
  host: config.HOST,
  port: config.PORT,
  opsPort: config.OPS_PORT,
  shutdownTimeoutMs: config.SHUTDOWN_TIMEOUT_MS,
  closers: [{ name: "partner-apis", close: () => Promise.all([partners.a.close(), partners.b.close()]) }],
});

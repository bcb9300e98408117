import type { FastifyInstance } from "fastify";
import type { Logger } from "./logger.js";
import { type Closer, installGracefulShutdown } from "./shutdown.js";

export interface RunOptions {
  app: FastifyInstance;
  logger: Logger;
  host: string;
  port: number;
  /** The ops port (/healthz, detailed /readyz, /metrics); unset: port + 1000, or any free port when port is 0. */
  opsPort?: number;
  closers: Closer[];
  shutdownTimeoutMs: number;
}

/** Listens, installs graceful shutdown, and turns a failure to listen into a clear exit. */
export async function runService(options: RunOptions): Promise<void> {
  installGracefulShutdown({
    app: options.app,
    logger: options.logger,
    closers: options.closers,
    timeoutMs: options.shutdownTimeoutMs,
  });
  process.on("unhandledRejection", (reason) => {
    options.logger.error({ err: reason }, "unhandled promise rejection");
  });
  const opsPort = options.opsPort ?? (options.port === 0 ? 0 : options.port + 1000);
  for (const [app, port] of [
    [options.app, options.port],
    [options.app.opsApp, opsPort],
  ] as const) {
    try {
      await app.listen({ host: options.host, port });
    } catch (error) {
      options.logger.fatal({ err: error }, `cannot listen on ${options.host}:${port}`);
      options.logger.flush();
      process.exit(1);
    }
  }
}

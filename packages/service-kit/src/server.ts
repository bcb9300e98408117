import type { FastifyInstance } from "fastify";
import type { Logger } from "./logger.js";
import { type Closer, installGracefulShutdown } from "./shutdown.js";

export interface RunOptions {
  app: FastifyInstance;
  logger: Logger;
  host: string;
  port: number;
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
  try {
    await options.app.listen({ host: options.host, port: options.port });
  } catch (error) {
    options.logger.fatal({ err: error }, `cannot listen on ${options.host}:${options.port}`);
    options.logger.flush();
    process.exit(1);
  }
}

import type { FastifyInstance } from "fastify";
import type { Logger } from "./logger.js";

export interface Closer {
  name: string;
  close: () => Promise<unknown>;
}

export interface ShutdownOptions {
  app: FastifyInstance;
  logger: Logger;
  /** Run in order after HTTP intake has stopped: workers first, then queues, then pools. */
  closers: Closer[];
  timeoutMs: number;
  signals?: NodeJS.Signals[];
  exit?: (code: number) => void;
}

/**
 * Graceful shutdown: stop intake (readiness goes 503, the listener closes, in-flight requests
 * finish), then run the closers in order, all bounded by a timeout after which the process exits 1.
 */
export function installGracefulShutdown(options: ShutdownOptions): () => Promise<void> {
  const exit = options.exit ?? ((code: number) => process.exit(code));
  let shutdown: Promise<void> | undefined;

  const run = async (reason: string): Promise<void> => {
    const { app, logger } = options;
    logger.info({ reason }, "shutting down");
    app.shuttingDown = true;
    const deadline = setTimeout(() => {
      logger.error({ timeout_ms: options.timeoutMs }, "shutdown timed out; exiting");
      logger.flush();
      exit(1);
    }, options.timeoutMs);
    deadline.unref();
    let failed = false;
    try {
      await app.close();
    } catch (error) {
      failed = true;
      logger.error({ err: error }, "closing the HTTP server failed");
    }
    for (const closer of options.closers) {
      try {
        await closer.close();
        logger.debug({ closer: closer.name }, "closed");
      } catch (error) {
        failed = true;
        logger.error({ err: error, closer: closer.name }, "closer failed");
      }
    }
    clearTimeout(deadline);
    logger.info({ clean: !failed }, "shutdown complete");
    logger.flush();
    exit(failed ? 1 : 0);
  };

  const onSignal = (signal: NodeJS.Signals) => {
    if (shutdown) {
      options.logger.warn({ signal }, "second signal during shutdown; exiting now");
      exit(1);
      return;
    }
    shutdown = run(signal);
  };
  for (const signal of options.signals ?? ["SIGTERM", "SIGINT"]) process.on(signal, onSignal);

  return () => {
    shutdown ??= run("requested");
    return shutdown;
  };
}

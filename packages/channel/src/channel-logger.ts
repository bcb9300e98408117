/** The logging a channel queue needs; a pino logger fits. */
export interface ChannelLogger {
  warn(object: Record<string, unknown>, message: string): void;
  error(object: Record<string, unknown>, message: string): void;
}

/**
 * Used when no logger is given. An `error` listener must exist either way: an EventEmitter without
 * one turns a Redis hiccup into an uncaught exception that ends the process.
 */
export const stderrChannelLogger: ChannelLogger = {
  warn: (object, message) => console.warn(message, object),
  error: (object, message) => console.error(message, object),
};

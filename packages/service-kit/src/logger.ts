import { createRequire } from "node:module";
import pino, { type DestinationStream, type Logger } from "pino";
import type PinoPretty from "pino-pretty";

export type { Logger } from "pino";

export const REDACTED = "[REDACTED]";

/**
 * Keys whose values never reach a log line, at any depth. pino's own `redact` matches fixed paths
 * only, and a share token can sit anywhere in a logged object (a Didit response, a job payload).
 */
const SECRET_KEYS = new Set(
  [
    "authorization",
    "proxy-authorization",
    "x-api-key",
    "cookie",
    "set-cookie",
    "share_token",
    "sharetoken",
    "token",
    "access_token",
    "refresh_token",
    "api_key",
    "apikey",
    "api_keys",
    "password",
    "secret",
    "webhook_secret",
    "client_secret",
    "private_key",
    "privatekey",
    "envelope",
    // partner-b's single-use link code: whoever holds it can bind a share to that partner-b user.
    "link_code",
    "linkcode",
  ].map((key) => key.toLowerCase()),
);

export function isSecretKey(key: string): boolean {
  return SECRET_KEYS.has(key.toLowerCase());
}

export function redactDeep(value: unknown, seen = new WeakSet<object>(), depth = 0): unknown {
  if (value === null || typeof value !== "object") return value;
  if (seen.has(value) || depth > 10) return "[Circular or too deep]";
  seen.add(value);
  if (Array.isArray(value)) return value.map((item) => redactDeep(item, seen, depth + 1));
  // Class instances (requests, errors) are left to pino's serializers, which pick safe fields.
  const prototype = Object.getPrototypeOf(value);
  if (prototype !== Object.prototype && prototype !== null) return value;
  const out: Record<string, unknown> = {};
  for (const [key, inner] of Object.entries(value)) {
    out[key] = isSecretKey(key) ? REDACTED : redactDeep(inner, seen, depth + 1);
  }
  return out;
}

/**
 * Last line of defence: any configured secret value (API keys, webhook secrets) is blanked out of
 * the serialized line, wherever it appears, including inside error messages and URLs.
 */
export function secretScrubbingStream(
  secrets: readonly string[],
  target: DestinationStream,
): DestinationStream {
  const needles = [...new Set(secrets.filter((secret) => secret.length >= 8))].sort(
    (a, b) => b.length - a.length,
  );
  if (needles.length === 0) return target;
  return {
    write(line: string) {
      let scrubbed = line;
      for (const needle of needles) {
        if (scrubbed.includes(needle)) scrubbed = scrubbed.split(needle).join(REDACTED);
      }
      target.write(scrubbed);
    },
  };
}

export interface LoggerOptions {
  service: string;
  level?: string;
  /** Secret values that must never be printed (API keys, webhook secrets, control keys). */
  secrets?: readonly string[];
  /** Where lines go; defaults to stdout (pretty only when stdout is a terminal). */
  destination?: DestinationStream;
}

/**
 * pino-pretty is a development dependency: production images do not hold it, and a service run
 * there on a terminal (`docker run -t`) writes JSON lines like everywhere else.
 */
function prettyStdout(): DestinationStream | undefined {
  let pretty: typeof PinoPretty;
  try {
    pretty = createRequire(import.meta.url)("pino-pretty");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "MODULE_NOT_FOUND") return undefined;
    throw error;
  }
  return pretty({ colorize: true, translateTime: "HH:MM:ss.l", ignore: "pid,hostname", sync: true });
}

/** The parts of a Fastify request the request serializer reads. */
interface LoggedRequest {
  method: string;
  url: string;
  routeOptions?: { url?: string };
  ip?: string;
}

/**
 * A request as its log lines show it: the method and the route's pattern, never the URL itself.
 * Paths and query strings carry user ids (`/v1/users/{user_id}/…`, `/v1/audit?user_id=…`), and
 * "no user id in a log line" holds for the request log too. An unrouted path shows as unmatched.
 */
export function loggedRequest(request: LoggedRequest): Record<string, string | undefined> {
  return {
    method: request.method,
    route: request.routeOptions?.url ?? "(no route)",
    remote_address: request.ip,
  };
}

export function createLogger(options: LoggerOptions): Logger {
  const target =
    options.destination ??
    (process.stdout.isTTY ? prettyStdout() : undefined) ??
    pino.destination({ dest: 1, sync: true });
  return pino(
    {
      level: options.level ?? "info",
      base: { service: options.service },
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: {
        level: (label) => ({ level: label }),
        log: (object) => redactDeep(object) as Record<string, unknown>,
      },
      // Fastify keeps a logger instance's own serializers over its defaults: `req` replaces the one
      // that writes the full URL.
      serializers: { err: pino.stdSerializers.err, error: pino.stdSerializers.err, req: loggedRequest },
    },
    secretScrubbingStream(options.secrets ?? [], target),
  );
}

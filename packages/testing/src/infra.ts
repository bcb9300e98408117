import { connect } from "node:net";

export interface TestInfra {
  /** Admin connection to a server where tests may create and drop databases. */
  postgresUrl: string;
  redisUrl: string;
  /** Prefix shared by every database this run creates, so teardown can drop them all. */
  runId: string;
}

export const DEFAULT_POSTGRES_URL = "postgres://postgres@127.0.0.1:5432/postgres";
export const DEFAULT_REDIS_URL = "redis://127.0.0.1:6379";

/** Whether something accepts TCP connections at the URL's host and port. */
export function isReachable(url: string, timeoutMs = 1_000): Promise<boolean> {
  const parsed = new URL(url);
  const port = Number(parsed.port || (parsed.protocol.startsWith("postgres") ? 5432 : 6379));
  return new Promise((resolve) => {
    const socket = connect({ host: parsed.hostname, port });
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once("connect", () => done(true));
    socket.once("error", () => done(false));
  });
}

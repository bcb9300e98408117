import { type ChildProcess, spawn } from "node:child_process";
import { type GcLog, parseTraceGcLine } from "./gc-pauses.js";
import {
  API_KEYS,
  apps,
  type BenchWorld,
  CONTROL_KEY,
  PSEUDONYM_SECRET,
  REDIS_URL,
  serviceDir,
} from "./world.js";

export type ServiceName = "didit-sandbox" | "partner-a" | "partner-b";

export interface RunningProcess {
  name: string;
  pid: number;
  child: ChildProcess;
  /** The last lines it wrote (stdout and stderr), for diagnostics. */
  tail: () => string;
  /** Lines written in all (at LOG_LEVEL=warn, each one is a warning or an error). */
  lines: () => number;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  stop: (timeoutMs?: number) => Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/**
 * Spawns `node <args>` with only the given environment (nothing of the caller's leaks in). With `gc`,
 * its `--trace-gc` lines go there instead of counting as output.
 */
export function spawnProcess(
  name: string,
  args: string[],
  cwd: string,
  env: Record<string, string>,
  gc?: GcLog,
): RunningProcess {
  const child = spawn(process.execPath, args, {
    cwd,
    env: { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? "/tmp", ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  const kept: string[] = [];
  let count = 0;
  for (const stream of [child.stdout, child.stderr]) {
    let partial = "";
    stream?.setEncoding("utf8");
    stream?.on("data", (chunk: string) => {
      const parts = (partial + chunk).split("\n");
      partial = parts.pop() ?? "";
      const now = Date.now();
      for (const line of parts) {
        const pause = gc && parseTraceGcLine(line, now);
        if (pause) gc.record(name, pause);
        else {
          count += 1;
          kept.push(line);
        }
      }
      if (kept.length > 400) kept.splice(0, kept.length - 200);
    });
  }
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once("exit", (code, signal) => resolve({ code, signal })),
  );
  if (child.pid === undefined) throw new Error(`${name} did not start`);
  return {
    name,
    pid: child.pid,
    child,
    tail: () => kept.slice(-60).join("\n"),
    lines: () => count,
    exited,
    stop: async (timeoutMs = 30_000) => {
      if (child.exitCode === null && child.signalCode === null) child.kill("SIGTERM");
      const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
      const result = await exited;
      clearTimeout(timer);
      return result;
    },
  };
}

export async function waitUntilReady(
  service: RunningProcess,
  url: string,
  timeoutMs = 60_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let ended = false;
  void service.exited.then(() => {
    ended = true;
  });
  while (Date.now() < deadline) {
    if (ended) throw new Error(`${service.name} exited before it was ready:\n${service.tail()}`);
    try {
      const response = await fetch(url, { signal: AbortSignal.timeout(1_000) });
      await response.arrayBuffer();
      if (response.status === 200) return;
    } catch {
      // not listening yet
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`${service.name} not ready at ${url} after ${timeoutMs} ms:\n${service.tail()}`);
}

/** Tunables the benchmark sets on the product, reported with the results. */
export const BENCH_SETTINGS = {
  LOG_LEVEL: "warn",
  NODE_ENV: "production",
  // Didit's per-key limits (create 600/min, write 300/min) would cap the run at 5 shares/s.
  SANDBOX_RATE_LIMITS: "create=100000000,decision=100000000,read=100000000,write=100000000",
  // The partners' own API limit (6000/min per key) would cap the offered load at 100 shares/s.
  RATE_LIMIT_PER_MINUTE: "100000000",
  // Every webhook comes from the sandbox's one address; the per-address limit (60/min) would refuse most.
  WEBHOOK_RATE_LIMIT_PER_MINUTE: "100000000",
  // Webhooks that fail during user creation are retried within seconds, not minutes.
  SANDBOX_WEBHOOK_RETRY_DELAYS_MS: "500,2000,5000",
} as const;

/**
 * The partners' heap settings, as docker-compose.yml deploys them: their live heap is ~40 MiB at
 * full load, but without a cap V8 let garbage build up to 250+ MiB of RSS between major collections.
 * At 160 MiB it collects sooner, at no measurable CPU cost (1.1–1.2 ms per share either way).
 * The semi-space is set too: since Node 22, V8 sizes the young generation from the heap limit, and
 * under a 160 MiB cap it chose one so small that almost everything was promoted and the old space
 * was collected again and again (Node 24: 264 pauses, 4.9 s in one 5,000-share run, 47% of
 * partner-a's thread in GC, 168 shares/s). 16 MiB is what Node 20 used on 64-bit: 94 pauses,
 * 0.7 s, 380 shares/s in the same run (bench/README.md, "Node 24").
 */
export const PARTNER_NODE_OPTIONS = "--max-old-space-size=160 --max-semi-space-size=16";

export interface ServiceStart {
  /** Extra node flags, e.g. --cpu-prof. */
  nodeArgs?: string[];
  env?: Record<string, string>;
  /** Where its `--trace-gc` lines go. */
  gc?: GcLog;
}

/** How the bench launches every process it measures: extra node flags, and where GC lines go. */
export interface Launch {
  nodeArgs: (name: string) => string[];
  gc?: GcLog;
}

function serviceEnv(world: BenchWorld, name: ServiceName): Record<string, string> {
  const common = {
    NODE_ENV: BENCH_SETTINGS.NODE_ENV,
    SHARE_BROKER_NO_DEV_ENV: "1",
    LOG_LEVEL: BENCH_SETTINGS.LOG_LEVEL,
    PORT: String(world.ports[name === "didit-sandbox" ? "sandbox" : name]),
  };
  if (name === "didit-sandbox") {
    return {
      ...common,
      SANDBOX_CONFIG: world.applicationsFile,
      SANDBOX_CONTROL_KEY: CONTROL_KEY,
      SANDBOX_PUBLIC_URL: `http://127.0.0.1:${world.ports.sandbox}`,
      SANDBOX_RATE_LIMITS: BENCH_SETTINGS.SANDBOX_RATE_LIMITS,
      SANDBOX_WEBHOOK_RETRY_DELAYS_MS: BENCH_SETTINGS.SANDBOX_WEBHOOK_RETRY_DELAYS_MS,
    };
  }
  const app = apps[name];
  return {
    ...common,
    NODE_OPTIONS: PARTNER_NODE_OPTIONS,
    API_KEYS: API_KEYS[name],
    RATE_LIMIT_PER_MINUTE: BENCH_SETTINGS.RATE_LIMIT_PER_MINUTE,
    WEBHOOK_RATE_LIMIT_PER_MINUTE: BENCH_SETTINGS.WEBHOOK_RATE_LIMIT_PER_MINUTE,
    DATABASE_URL: name === "partner-a" ? world.databases.a : world.databases.b,
    REDIS_URL,
    QUEUE_PREFIX: world.prefix,
    DIDIT_BASE_URL: `http://127.0.0.1:${world.ports.sandbox}`,
    DIDIT_API_KEY: app.apiKey,
    DIDIT_WEBHOOK_SECRET: app.webhookSecret,
    DIDIT_FIRST_VERIFICATION_WORKFLOW_ID: app.kyc,
    DIDIT_REUSABLE_KYC_WORKFLOW_ID: app.reusableKyc,
    PARTNER_ID: name,
    PARTNERS_FILE: world.partnersFile,
    KEYS_DIR: world.keysDir(name),
    PSEUDONYM_SECRET,
    POLICIES_FILE: world.policiesFile,
  };
}

/** Starts one service from its production build (`node dist/server.js`) and waits for /readyz. */
export async function startService(
  world: BenchWorld,
  name: ServiceName,
  options: ServiceStart = {},
): Promise<RunningProcess> {
  const port = world.ports[name === "didit-sandbox" ? "sandbox" : name];
  const service = spawnProcess(
    name,
    [...(options.nodeArgs ?? []), "dist/server.js"],
    serviceDir(name),
    { ...serviceEnv(world, name), ...options.env },
    options.gc,
  );
  try {
    await waitUntilReady(service, `http://127.0.0.1:${port}/readyz`);
  } catch (error) {
    await service.stop(2_000);
    throw error;
  }
  return service;
}

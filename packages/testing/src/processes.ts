import { type ChildProcess, spawn } from "node:child_process";
import { createServer } from "node:net";

/** A port the OS just handed out; the tiny window before the child binds it is acceptable in tests. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      server.close(() =>
        typeof address === "object" && address ? resolve(address.port) : reject(new Error("no port")),
      );
    });
  });
}

export interface ServiceProcessOptions {
  /** Label used in error messages. */
  name: string;
  /** Entry file, run from TypeScript source through tsx with the "source" export condition. */
  entry: string;
  cwd: string;
  env: Record<string, string | undefined>;
  /** Path polled until it answers 200; `false` to skip waiting. */
  waitFor?: string | false;
  readyTimeoutMs?: number;
}

export interface ServiceProcess {
  name: string;
  port: number;
  url: string;
  /** The ops port: /healthz, detailed /readyz, /metrics. */
  opsPort: number;
  opsUrl: string;
  child: ChildProcess;
  stdout: string[];
  stderr: string[];
  /** Every captured line, stdout and stderr. */
  output: () => string;
  /** Resolves with the exit code (or signal) once the process has ended. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  stop: (
    signal?: NodeJS.Signals,
    timeoutMs?: number,
  ) => Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

function collectLines(stream: NodeJS.ReadableStream | null, into: string[]): void {
  let partial = "";
  stream?.setEncoding("utf8");
  stream?.on("data", (chunk: string) => {
    const lines = (partial + chunk).split("\n");
    partial = lines.pop() ?? "";
    into.push(...lines);
  });
  stream?.on("end", () => {
    if (partial) into.push(partial);
  });
}

async function waitUntilAnswering(service: ServiceProcess, path: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let ended = false;
  void service.exited.then(() => {
    ended = true;
  });
  let last = "no answer yet";
  while (Date.now() < deadline) {
    if (ended) throw new Error(`${service.name} exited before it was ready:\n${service.output()}`);
    try {
      const response = await fetch(`${service.url}${path}`, { signal: AbortSignal.timeout(1_000) });
      if (response.status === 200) return;
      last = `${response.status} ${await response.text()}`;
    } catch (error) {
      last = String(error);
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(
    `${service.name} not ready on ${path} after ${timeoutMs} ms (${last}):\n${service.output()}`,
  );
}

/** Spawns a service as a real child process on a free port and waits until it answers. */
export async function startServiceProcess(options: ServiceProcessOptions): Promise<ServiceProcess> {
  const port = options.env.PORT ? Number(options.env.PORT) : await freePort();
  const opsPort = options.env.OPS_PORT ? Number(options.env.OPS_PORT) : await freePort();
  const env: Record<string, string> = {};
  const merged = { ...process.env, ...options.env, PORT: String(port), OPS_PORT: String(opsPort) };
  for (const [key, value] of Object.entries(merged)) {
    if (value !== undefined) env[key] = value;
  }
  // vitest's own variables would make the child think it is a test worker.
  for (const key of Object.keys(env)) if (key.startsWith("VITEST") || key === "TEST") delete env[key];
  const child = spawn(process.execPath, ["--conditions=source", "--import", "tsx", options.entry], {
    cwd: options.cwd,
    env,
    stdio: ["ignore", "pipe", "pipe"],
  });
  const stdout: string[] = [];
  const stderr: string[] = [];
  collectLines(child.stdout, stdout);
  collectLines(child.stderr, stderr);
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once("exit", (code, signal) => resolve({ code, signal })),
  );
  const service: ServiceProcess = {
    name: options.name,
    port,
    url: `http://127.0.0.1:${port}`,
    opsPort,
    opsUrl: `http://127.0.0.1:${opsPort}`,
    child,
    stdout,
    stderr,
    output: () => [...stdout, ...stderr].join("\n"),
    exited,
    stop: async (signal = "SIGTERM", timeoutMs = 15_000) => {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
      const result = await exited;
      clearTimeout(timer);
      return result;
    },
  };
  if (options.waitFor !== false) {
    try {
      await waitUntilAnswering(service, options.waitFor ?? "/readyz", options.readyTimeoutMs ?? 30_000);
    } catch (error) {
      await service.stop("SIGKILL");
      throw error;
    }
  }
  return service;
}

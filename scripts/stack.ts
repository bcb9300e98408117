/**
 * `pnpm stack`: migrates, starts the Didit sandbox, partner-a and partner-b from their builds with
 * the development configuration (infra/dev), waits until all answer /readyz, and streams their
 * logs together, each line prefixed with its service. Ctrl-C (or SIGTERM) stops them all cleanly.
 */
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("..", import.meta.url));
const services = [
  { name: "didit-sandbox", port: 3003, colour: 35 },
  { name: "partner-a", port: 3001, colour: 36 },
  { name: "partner-b", port: 3002, colour: 33 },
] as const;

const tty = process.stdout.isTTY;
const label = (name: string, colour: number) =>
  tty ? `\x1b[${colour}m${name.padEnd(13)}\x1b[0m|` : `${name.padEnd(13)}|`;
const say = (text: string) =>
  process.stdout.write(`${tty ? "\x1b[1m" : ""}==> ${text}${tty ? "\x1b[0m" : ""}\n`);

function migrate(): void {
  say("migrating partner databases (pnpm db:migrate)");
  const result = spawnSync("pnpm", ["db:migrate"], { cwd: root, stdio: ["ignore", "pipe", "inherit"] });
  if (result.status !== 0) {
    process.stderr.write(result.stdout.toString());
    throw new Error("migrations failed: is PostgreSQL running on 127.0.0.1:5432?");
  }
}

function start(service: (typeof services)[number]): ChildProcess {
  const child = spawn(process.execPath, ["dist/server.js"], {
    cwd: `${root}services/${service.name}`,
    env: { ...process.env, FORCE_COLOR: "0" },
    stdio: ["ignore", "pipe", "pipe"],
    // Own process group: a terminal's Ctrl-C reaches only this script, which stops each service once.
    detached: true,
  });
  for (const stream of [child.stdout, child.stderr]) {
    if (!stream) continue;
    createInterface({ input: stream }).on("line", (line) =>
      process.stdout.write(`${label(service.name, service.colour)} ${line}\n`),
    );
  }
  child.on("exit", (code, signal) => {
    if (!stopping) {
      say(`${service.name} exited unexpectedly (code ${code}, signal ${signal}); stopping the stack`);
      void stopAll(1);
    }
  });
  return child;
}

async function waitReady(port: number, name: string, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    try {
      const response = await fetch(`http://127.0.0.1:${port}/readyz`);
      if (response.ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  throw new Error(`${name} was not ready on port ${port} after ${timeoutMs / 1000} s`);
}

let stopping = false;
const children: ChildProcess[] = [];

async function stopAll(code: number): Promise<void> {
  if (stopping) return;
  stopping = true;
  say("stopping the stack");
  await Promise.all(
    children.map(
      (child) =>
        new Promise<void>((resolve) => {
          if (child.exitCode !== null || child.signalCode !== null) return resolve();
          child.once("exit", () => resolve());
          child.kill("SIGTERM");
          setTimeout(() => child.kill("SIGKILL"), 15_000).unref();
        }),
    ),
  );
  process.exit(code);
}

process.on("SIGINT", () => void stopAll(0));
process.on("SIGTERM", () => void stopAll(0));

try {
  migrate();
  for (const service of services) children.push(start(service));
  await Promise.all(services.map((service) => waitReady(service.port, service.name)));
  say("the stack is ready:");
  for (const service of services) say(`  ${service.name.padEnd(13)} http://127.0.0.1:${service.port}`);
  say("Ctrl-C stops everything");
} catch (error) {
  say(`cannot start the stack: ${(error as Error).message}`);
  await stopAll(1);
}

import { execFileSync, spawn } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { Redis, type RedisOptions } from "ioredis";
import { freePort } from "./processes.js";

/**
 * Extra redis-server processes for tests that need a Redis of their own (ACL users, TLS, later a
 * cluster): the shared one on 6379 cannot be reconfigured without disturbing every other test.
 */
export interface RedisServer {
  port: number;
  /** Everything redis-server printed, for failure messages. */
  output: () => string;
  stop: () => Promise<void>;
}

export interface RedisServerOptions {
  /** Arguments after the port ones, e.g. ["--aclfile", file]. */
  args?: string[];
  /** Serve TLS only (no plaintext port), with this material from `createTlsMaterial`. */
  tls?: TlsMaterial;
  /** How the readiness probe connects: the probe is done when a PING answers PONG. */
  probe: (port: number) => { url: string; options?: RedisOptions };
  readyTimeoutMs?: number;
}

export async function startRedisServer(options: RedisServerOptions): Promise<RedisServer> {
  const port = await freePort();
  const portArgs = options.tls
    ? [
        "--port",
        "0",
        "--tls-port",
        String(port),
        "--tls-cert-file",
        options.tls.serverCertFile,
        "--tls-key-file",
        options.tls.serverKeyFile,
        "--tls-ca-cert-file",
        options.tls.caFile,
        // Clients prove who they are with their ACL user, not a client certificate.
        "--tls-auth-clients",
        "no",
      ]
    : ["--port", String(port)];
  const child = spawn(
    "redis-server",
    [...portArgs, "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", ...(options.args ?? [])],
    { stdio: ["ignore", "pipe", "pipe"] },
  );
  const lines: string[] = [];
  child.stdout.on("data", (chunk: Buffer) => lines.push(chunk.toString()));
  child.stderr.on("data", (chunk: Buffer) => lines.push(chunk.toString()));
  const spawnFailure = new Promise<never>((_, reject) => {
    child.once("error", (error) =>
      reject(
        new Error(`could not run redis-server (install it: apt-get install redis-server): ${error.message}`),
      ),
    );
  });
  const exitedEarly = new Promise<never>((_, reject) => {
    child.once("exit", (code) => reject(new Error(`redis-server exited with ${code}:\n${lines.join("")}`)));
  });
  const output = () => lines.join("");
  const stop = async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((resolve) => child.once("exit", resolve));
    child.kill("SIGTERM");
    await exited;
  };
  try {
    await Promise.race([
      waitForPong(options.probe(port), options.readyTimeoutMs ?? 10_000),
      spawnFailure,
      exitedEarly,
    ]);
  } catch (error) {
    await stop();
    throw error;
  }
  exitedEarly.catch(() => undefined);
  spawnFailure.catch(() => undefined);
  return { port, output, stop };
}

async function waitForPong(probe: { url: string; options?: RedisOptions }, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    const client = new Redis(probe.url, {
      ...probe.options,
      lazyConnect: true,
      maxRetriesPerRequest: 0,
      retryStrategy: () => null,
    });
    client.on("error", () => undefined);
    try {
      await client.connect();
      if ((await client.ping()) === "PONG") return;
    } catch (error) {
      last = error;
    } finally {
      client.disconnect();
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`redis-server did not answer PING within ${timeoutMs} ms: ${String(last)}`);
}

export interface TlsMaterial {
  caFile: string;
  serverCertFile: string;
  serverKeyFile: string;
}

/**
 * A throwaway certificate authority and a server certificate for 127.0.0.1 and localhost, made by
 * openssl in `dir`. Clients trust the CA through NODE_EXTRA_CA_CERTS, as a deployment with a
 * private CA would.
 */
export function createTlsMaterial(dir: string): TlsMaterial {
  const file = (name: string) => join(dir, name);
  const openssl = (...args: string[]) => {
    try {
      execFileSync("openssl", args, { stdio: ["ignore", "ignore", "pipe"] });
    } catch (error) {
      throw new Error(`openssl ${args[0]} failed (install it: apt-get install openssl): ${String(error)}`);
    }
  };
  const subject = (name: string) => `/CN=${name}`;
  openssl(
    "req",
    "-x509",
    "-newkey",
    "rsa:2048",
    "-nodes",
    "-days",
    "2",
    "-subj",
    subject("share-broker test CA"),
    "-keyout",
    file("ca.key"),
    "-out",
    file("ca.pem"),
    "-addext",
    "basicConstraints=critical,CA:TRUE",
    "-addext",
    "keyUsage=critical,keyCertSign,cRLSign",
  );
  openssl(
    "req",
    "-newkey",
    "rsa:2048",
    "-nodes",
    "-subj",
    subject("127.0.0.1"),
    "-keyout",
    file("server.key"),
    "-out",
    file("server.csr"),
  );
  const extensions = file("server.ext");
  writeFileSync(extensions, "subjectAltName=IP:127.0.0.1,DNS:localhost\n");
  openssl(
    "x509",
    "-req",
    "-in",
    file("server.csr"),
    "-CA",
    file("ca.pem"),
    "-CAkey",
    file("ca.key"),
    "-CAcreateserial",
    "-days",
    "2",
    "-out",
    file("server.pem"),
    "-extfile",
    extensions,
  );
  return { caFile: file("ca.pem"), serverCertFile: file("server.pem"), serverKeyFile: file("server.key") };
}

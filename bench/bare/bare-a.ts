/**
 * The bare baseline's "partner-a": accepts a share over HTTP (insert + first hop), makes the
 * sandbox call and the insert of the first hop, and applies results (an update). No validation,
 * no crypto, no audit: only the I/O.
 */
import { randomUUID } from "node:crypto";
import { createServer } from "node:http";
import { Queue, Worker } from "bullmq";
import { Redis } from "ioredis";
import pg from "pg";
import { createPool } from "../http.js";
import {
  A_CONCURRENCY,
  JOB_OPTIONS,
  OFFER_PAD,
  QUEUES,
  REDIS_PRODUCER,
  REDIS_WORKER,
  requireEnv,
} from "./shape.js";

const prefix = requireEnv("QUEUE_PREFIX");
const pool = new pg.Pool({ connectionString: requireEnv("DATABASE_URL"), max: 20 });
const sandbox = createPool(requireEnv("SANDBOX_URL"), 16);
const producer = new Redis(requireEnv("REDIS_URL"), REDIS_PRODUCER);
const workerRedis = new Redis(requireEnv("REDIS_URL"), REDIS_WORKER);

const offers = new Queue(QUEUES.offers, {
  connection: producer,
  prefix,
  defaultJobOptions: JOB_OPTIONS,
});
const inbox = new Queue(QUEUES.inbox, {
  connection: producer,
  prefix,
  defaultJobOptions: JOB_OPTIONS,
});

const mintWorker = new Worker(
  QUEUES.offers,
  async (job) => {
    const id = job.data.id as string;
    const answer = await sandbox.request({ path: "/healthz", method: "GET" });
    await answer.body.text();
    await pool.query("insert into mints (share_id) values ($1) on conflict do nothing", [id]);
    await inbox.add("offer", { id, envelope: OFFER_PAD }, { jobId: id });
  },
  { connection: workerRedis, prefix, concurrency: A_CONCURRENCY },
);
const resultWorker = new Worker(
  QUEUES.results,
  async (job) => {
    await pool.query("update shares set status = 'done', updated_at = now() where share_id = $1", [
      job.data.id,
    ]);
  },
  { connection: workerRedis, prefix, concurrency: A_CONCURRENCY },
);
const report = (error: Error) => process.stderr.write(`bare-a: ${String(error)}\n`);
for (const queue of [offers, inbox]) queue.on("error", report);
for (const worker of [mintWorker, resultWorker]) worker.on("error", report);

const server = createServer((request, response) => {
  const chunks: Buffer[] = [];
  request.on("data", (chunk: Buffer) => chunks.push(chunk));
  request.on("end", () => {
    void (async () => {
      try {
        const body = chunks.length
          ? (JSON.parse(Buffer.concat(chunks).toString("utf8")) as { ref?: string })
          : {};
        const id = randomUUID();
        await pool.query("insert into shares (share_id, ref, status) values ($1, $2, 'accepted')", [
          id,
          body.ref ?? null,
        ]);
        await offers.add("offer", { id }, { jobId: id });
        response.writeHead(202, { "content-type": "application/json" });
        // The product's answer (ShareAccepted), so the load generator reads both with one schema.
        response.end(
          JSON.stringify({ share_id: id, status: "accepted", audience: "bare-b", expires_at: null }),
        );
      } catch (error) {
        response.writeHead(500, { "content-type": "application/json" });
        response.end(JSON.stringify({ error: String(error) }));
      }
    })();
  });
});
server.keepAliveTimeout = 30_000;
await Promise.all([offers.waitUntilReady(), inbox.waitUntilReady(), mintWorker.waitUntilReady()]);
server.listen(Number(requireEnv("PORT")), "127.0.0.1", () => process.stdout.write("ready\n"));

process.once("SIGTERM", () => {
  void (async () => {
    server.close();
    await Promise.all([mintWorker.close(), resultWorker.close()]);
    await Promise.all([offers.close(), inbox.close()]);
    await sandbox.close();
    producer.disconnect();
    workerRedis.disconnect();
    await pool.end();
    process.exit(0);
  })();
});

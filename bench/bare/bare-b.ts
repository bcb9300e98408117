/**
 * The bare baseline's "partner-b": takes an offer off its inbox, makes the sandbox call, inserts
 * the import row and sends the result back on a third hop.
 */
import { Queue, Worker } from "bullmq";
import { Redis } from "ioredis";
import pg from "pg";
import { createPool } from "../http.js";
import {
  B_CONCURRENCY,
  JOB_OPTIONS,
  QUEUES,
  REDIS_PRODUCER,
  REDIS_WORKER,
  RESULT_PAD,
  requireEnv,
} from "./shape.js";

const prefix = requireEnv("QUEUE_PREFIX");
const pool = new pg.Pool({ connectionString: requireEnv("DATABASE_URL"), max: 10 });
const sandbox = createPool(requireEnv("SANDBOX_URL"), 16);
const producer = new Redis(requireEnv("REDIS_URL"), REDIS_PRODUCER);
const workerRedis = new Redis(requireEnv("REDIS_URL"), REDIS_WORKER);

const results = new Queue(QUEUES.results, {
  connection: producer,
  prefix,
  defaultJobOptions: JOB_OPTIONS,
});
const importWorker = new Worker(
  QUEUES.inbox,
  async (job) => {
    const id = job.data.id as string;
    const answer = await sandbox.request({ path: "/healthz", method: "GET" });
    await answer.body.text();
    await pool.query("insert into imports (share_id) values ($1) on conflict do nothing", [id]);
    await results.add("result", { id, envelope: RESULT_PAD }, { jobId: id });
  },
  // partner-b's INBOX_CONCURRENCY default.
  { connection: workerRedis, prefix, concurrency: B_CONCURRENCY },
);
const report = (error: Error) => process.stderr.write(`bare-b: ${String(error)}\n`);
results.on("error", report);
importWorker.on("error", report);
await Promise.all([results.waitUntilReady(), importWorker.waitUntilReady()]);
process.stdout.write("ready\n");

process.once("SIGTERM", () => {
  void (async () => {
    await importWorker.close();
    await results.close();
    await sandbox.close();
    producer.disconnect();
    workerRedis.disconnect();
    await pool.end();
    process.exit(0);
  })();
});
